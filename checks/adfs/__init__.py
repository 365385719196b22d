"""AD FS: name, TLS, metadata, reachability, clock, service and certificates."""

from .certificates import AdfsCertificatesCheck
from .http import (
    AdfsClockSkewCheck,
    AdfsDnsCheck,
    AdfsMetadataCheck,
    AdfsProbeCheck,
    AdfsTlsCheck,
)
from .service import AdfsServiceCheck

CHECKS = [AdfsDnsCheck, AdfsTlsCheck, AdfsMetadataCheck, AdfsProbeCheck, AdfsClockSkewCheck,
          AdfsServiceCheck, AdfsCertificatesCheck]
