"""AD FS: name, TLS, metadata, reachability, clock, service and certificates."""

from .certificates import AdfsCertificatesCheck
from .clock_skew import AdfsClockSkewCheck
from .dns import AdfsDnsCheck
from .metadata import AdfsMetadataCheck
from .probe import AdfsProbeCheck
from .service import AdfsServiceCheck
from .tls import AdfsTlsCheck

CHECKS = [AdfsDnsCheck, AdfsTlsCheck, AdfsMetadataCheck, AdfsProbeCheck, AdfsClockSkewCheck,
          AdfsServiceCheck, AdfsCertificatesCheck]
