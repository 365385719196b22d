"""Web Application Proxy: health and its trust with AD FS."""

from accessready.checks.adfs.winrm import WapHealthCheck, WapProxyTrustCheck

CHECKS = [WapHealthCheck, WapProxyTrustCheck]
