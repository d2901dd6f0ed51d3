"""A pywbem WBEMListener for the indication tests, and a subscription that sends to it."""

from __future__ import annotations

import queue

import pywbem

#: How long an indication may take from libvirt's event to the listener (the issue's bound).
WITHIN = 2.0
CS_INDICATIONS = "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ComputerSystem"
SETTING_INDICATIONS = ("SELECT * FROM CIM_InstIndication "
                       "WHERE SourceInstance ISA CIM_ResourceAllocationSettingData")


class Listener:
    """A pywbem WBEMListener on loopback whose indications are read from a queue."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.received: queue.Queue[pywbem.CIMInstance] = queue.Queue()
        self._listener = pywbem.WBEMListener("127.0.0.1", http_port=port)
        self._listener.add_callback(lambda indication, host: self.received.put(indication))

    def start(self) -> Listener:
        self._listener.start()
        return self

    def stop(self) -> None:
        self._listener.stop()

    def next(self, timeout: float = WITHIN) -> pywbem.CIMInstance:
        return self.received.get(timeout=timeout)

    def nothing_more(self, wait: float = 0.5) -> bool:
        try:
            self.received.get(timeout=wait)
        except queue.Empty:
            return True
        return False


def subscribe(sm: pywbem.WBEMSubscriptionManager, server_id: str, listener: Listener,
              query: str = CS_INDICATIONS, language: str = "WQL") -> pywbem.CIMInstance:
    destination = sm.add_destination(server_id, listener.url, destination_id=f"d{listener.port}")
    found = sm.add_filter(server_id, ["root/virt"], query, language,
                          filter_id=f"f{listener.port}")
    sm.add_subscriptions(server_id, found.path, [destination.path])
    return found
