"""AD FS: name, TLS, metadata, reachability, clock, service and certificates."""

from .http import (
    AdfsClockSkewCheck,
    AdfsDnsCheck,
    AdfsMetadataCheck,
    AdfsProbeCheck,
    AdfsTlsCheck,
)
from .winrm import AdfsCertificatesCheck, AdfsServiceCheck

CHECKS = [AdfsDnsCheck, AdfsTlsCheck, AdfsMetadataCheck, AdfsProbeCheck, AdfsClockSkewCheck,
          AdfsServiceCheck, AdfsCertificatesCheck]
