//! TLS, with rustls on its ring provider: the server's acceptor, made
//! from the `tls-*` settings and made again when CONFIG SET changes them
//! (certificates rotate without a restart; connections already open keep
//! theirs), and the connector a slave's link uses (`tls-replication`).

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::Config;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `tls-protocols`: `TLSv1.2`, `TLSv1.3` or both (rustls has no older
/// ones); empty for both.
///
/// # Errors
/// A protocol rustls does not speak.
pub fn protocols(s: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut out = Vec::new();
    for word in s.split_ascii_whitespace() {
        let v = match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            _ => {
                return Err(format!(
                    "'{word}' is not a protocol this server speaks (TLSv1.2, TLSv1.3)"
                ))
            }
        };
        out.push(v);
    }
    if out.is_empty() {
        out = vec![&rustls::version::TLS12, &rustls::version::TLS13];
    }
    Ok(out)
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for c in certs(path)? {
        roots
            .add(c)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(roots)
}

/// The server's TLS, from the settings.
///
/// # Errors
/// What is missing or wrong, naming the file.
pub fn acceptor(c: &Config) -> Result<TlsAcceptor, String> {
    if c.tls_cert_file.as_os_str().is_empty() || c.tls_key_file.as_os_str().is_empty() {
        return Err("tls-port needs tls-cert-file and tls-key-file".into());
    }
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&protocols(&c.tls_protocols)?)
        .map_err(|e| e.to_string())?;
    let builder = match c.tls_auth_clients.as_str() {
        "no" => builder.with_no_client_auth(),
        mode => {
            if c.tls_ca_cert_file.as_os_str().is_empty() {
                return Err(format!(
                    "tls-auth-clients {mode} needs tls-ca-cert-file to check client certificates"
                ));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots(&c.tls_ca_cert_file)?),
                provider(),
            );
            let verifier = if mode == "optional" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
    };
    let config = builder
        .with_single_cert(certs(&c.tls_cert_file)?, key(&c.tls_key_file)?)
        .map_err(|e| format!("{}: {e}", c.tls_cert_file.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A slave's TLS to its master: the master's certificate checked against
/// `tls-ca-cert-file`, ours given when `tls-cert-file` and `tls-key-file`
/// are set (a master that authenticates clients asks for it).
///
/// # Errors
/// What is missing or wrong, naming the file.
pub fn connector(c: &Config) -> Result<TlsConnector, String> {
    if c.tls_ca_cert_file.as_os_str().is_empty() {
        return Err("tls-replication needs tls-ca-cert-file to check the master".into());
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&protocols(&c.tls_protocols)?)
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots(&c.tls_ca_cert_file)?);
    let config = if c.tls_cert_file.as_os_str().is_empty() {
        builder.with_no_client_auth()
    } else {
        builder
            .with_client_auth_cert(certs(&c.tls_cert_file)?, key(&c.tls_key_file)?)
            .map_err(|e| format!("{}: {e}", c.tls_cert_file.display()))?
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A connection to `addr` over `stream` as a TLS client (a slave's link),
/// its handshake done within `within`.
///
/// # Errors
/// The settings make no connector, or the handshake fails.
pub async fn client_connection(
    c: &Config,
    stream: tokio::net::TcpStream,
    addr: &str,
    within: std::time::Duration,
) -> Result<crate::conn::Connection, String> {
    let connector = connector(c)?;
    let name = server_name(addr)?;
    match tokio::time::timeout(within, connector.connect(name, stream)).await {
        Ok(Ok(s)) => Ok(crate::conn::Connection::tls(
            tokio_rustls::TlsStream::Client(s),
        )),
        Ok(Err(e)) => Err(format!("TLS handshake with {addr}: {e}")),
        Err(_) => Err(format!("TLS handshake with {addr}: no answer in time")),
    }
}

/// The name a master's certificate must carry: its host (an IP address
/// or a DNS name) from `host:port`.
///
/// # Errors
/// A host that is neither.
pub fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("'{host}': {e}"))
}

/// The acceptor in force, replaced when the settings change.
#[derive(Default)]
pub struct Tls {
    acceptor: RwLock<Option<TlsAcceptor>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// The acceptor for the next connection.
    pub fn acceptor(&self) -> Option<TlsAcceptor> {
        self.acceptor
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Make the acceptor from `c` (when it has a TLS port) and put it in
    /// force; on an error the one in force stays.
    ///
    /// # Errors
    /// Why the settings make no acceptor.
    pub fn configure(&self, c: &Config) -> Result<(), String> {
        if c.tls_port == 0 {
            return Ok(());
        }
        let next = acceptor(c)?;
        *self
            .acceptor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_and_names() {
        assert_eq!(protocols("").expect("both").len(), 2);
        assert_eq!(protocols("TLSv1.3").expect("one").len(), 1);
        assert!(protocols("TLSv1.1")
            .expect_err("too old")
            .contains("TLSv1.1"));
        assert!(matches!(
            server_name("127.0.0.1:8888"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("[::1]:8888"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("db.example:8888"),
            Ok(ServerName::DnsName(_))
        ));
    }

    #[test]
    fn missing_files_are_named() {
        let c = Config {
            tls_port: 1,
            tls_cert_file: "/nonexistent/cert.pem".into(),
            tls_key_file: "/nonexistent/key.pem".into(),
            tls_auth_clients: "no".into(),
            ..Config::default()
        };
        let refused = |c: &Config| acceptor(c).err().unwrap_or_default();
        assert!(refused(&c).contains("/nonexistent/cert.pem"));
        let c = Config {
            tls_auth_clients: "yes".into(),
            ..c
        };
        assert!(refused(&c).contains("tls-ca-cert-file"));
    }
}
