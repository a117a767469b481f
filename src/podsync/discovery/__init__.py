"""Local-network discovery of the pod's nodes (mDNS / DNS-SD with zeroconf).

Discovery is a hint: it tells the node where a member's device might be
reached; the pinned TLS handshake decides who it is.
"""

from podsync.discovery.mdns import SERVICE_TYPE, DiscoveredPeer, Discovery
from podsync.discovery.tag import pod_tag, tag_matches

__all__ = ["SERVICE_TYPE", "DiscoveredPeer", "Discovery", "pod_tag", "tag_matches"]
