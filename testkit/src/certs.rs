//! Certificates for TLS tests, made by openssl in a temporary directory:
//! a CA, a server certificate for 127.0.0.1 (and localhost) and a client
//! certificate, both signed by the CA, and a second CA that signed
//! neither (for certificates that must be refused).

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The files, kept while this lives.
pub struct Certs {
    /// The directory holding them.
    pub dir: TempDir,
    /// The CA's certificate.
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub server_cert: PathBuf,
    /// See `server_cert`.
    pub server_key: PathBuf,
    /// A client's certificate and key.
    pub client_cert: PathBuf,
    /// See `client_cert`.
    pub client_key: PathBuf,
    /// A certificate and key signed by another CA.
    pub stranger_cert: PathBuf,
    /// See `stranger_cert`.
    pub stranger_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl (Debian's openssl package)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`name.crt`, `name.key`).
fn ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// A certificate `name` signed by CA `by`, with `ext` (an extensions
/// file's text).
fn signed(dir: &Path, name: &str, by: &str, ext: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), ext).expect("ext file");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{by}.crt"),
            "-CAkey",
            &format!("{by}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

impl Certs {
    /// Make them.
    ///
    /// # Panics
    /// When openssl is missing or fails.
    pub fn make() -> Self {
        let dir = TempDir::new().expect("tmp");
        let d = dir.path();
        ca(d, "ca");
        ca(d, "otherca");
        signed(
            d,
            "server",
            "ca",
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        );
        let client_ext = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n";
        signed(d, "client", "ca", client_ext);
        signed(d, "stranger", "otherca", client_ext);
        let p = |f: &str| d.join(f);
        Self {
            ca: p("ca.crt"),
            server_cert: p("server.crt"),
            server_key: p("server.key"),
            client_cert: p("client.crt"),
            client_key: p("client.key"),
            stranger_cert: p("stranger.crt"),
            stranger_key: p("stranger.key"),
            dir,
        }
    }

    /// The server's settings as flags: TLS on `tls_port`, clients
    /// checked against the CA.
    pub fn server_flags(&self, tls_port: u16) -> Vec<String> {
        [
            ("--tls-port", tls_port.to_string()),
            ("--tls-cert-file", self.server_cert.display().to_string()),
            ("--tls-key-file", self.server_key.display().to_string()),
            ("--tls-ca-cert-file", self.ca.display().to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect()
    }
}
