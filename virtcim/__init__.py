"""virtcim: a WBEM server exposing libvirt hypervisors through the DMTF virtualization profiles."""

__version__ = "0.1.0"
