"""Web Application Proxy: health and its trust with AD FS."""

from .health import WapHealthCheck
from .proxy_trust import WapProxyTrustCheck

CHECKS = [WapHealthCheck, WapProxyTrustCheck]
