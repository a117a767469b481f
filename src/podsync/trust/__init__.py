"""Trust: who this device is, who belongs to the pod, who may read what.

``identity`` holds this device's key, certificate and device id, and the local
secrets (pod secret, API token) kept beside them.
"""

from podsync.trust.identity import (
    DeviceIdentity,
    create_identity,
    device_id_from_cert_der,
    load_identity,
    parse_device_id,
)

__all__ = [
    "DeviceIdentity",
    "create_identity",
    "device_id_from_cert_der",
    "load_identity",
    "parse_device_id",
]
