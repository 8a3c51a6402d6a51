//! TLS client settings for SSL_GET and genhash.
//!
//! keepalived's SSL_GET does not verify the real server's certificate unless
//! a CA is configured (`ssl { ca ... }`, not supported yet): it only needs
//! the page. So the verifier accepts any certificate but still checks the
//! handshake signatures. rustls is itself sans-IO: this module opens nothing.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

#[derive(Debug)]
struct AcceptAnyCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A client configuration (ring provider, TLS 1.2 and 1.3) that accepts any
/// server certificate, as keepalived's SSL_GET does without a CA.
pub fn client_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algs = provider.signature_verification_algorithms;
    let cfg = ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert { algs }))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The name for the TLS handshake: the virtualhost when SNI is enabled and
/// it is a valid DNS name, otherwise the IP address (rustls then sends no SNI).
pub fn server_name(ip: IpAddr, sni: Option<&str>) -> ServerName<'static> {
    sni.and_then(|h| ServerName::try_from(h.to_string()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(ip.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_config_and_names() {
        assert!(client_config().is_ok());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(matches!(server_name(ip, None), ServerName::IpAddress(_)));
        assert!(matches!(
            server_name(ip, Some("www.example.com")),
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name(ip, Some("bad name!")),
            ServerName::IpAddress(_)
        ));
    }
}
