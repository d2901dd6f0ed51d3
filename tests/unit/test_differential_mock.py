"""The pywbem_mock differential suite (:mod:`tests.differential_cases`) against the
dispatcher, called in process: every case compares virtcim's answer with pywbem_mock's."""

from tests.differential_cases import *  # noqa: F403 - the cases to run
