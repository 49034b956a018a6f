//! The local certificate authority and the certificates it issues: the HTTPS server certificate
//! (valid for loopback and the Microsoft host names, so drop-in mode works) and the operator
//! client certificate the CLI signs its assertions with.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::{CryptoError, Result};

/// Host names the server certificate covers besides loopback. These are the hosts real clients
/// have hard-coded; covering them lets Palisade answer for them (hosts file, proxy) unchanged.
pub const MICROSOFT_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "sts.windows.net",
    "api.securitycenter.microsoft.com",
    "api.security.microsoft.com",
    "api.securitycenter.windows.com",
    "securitycenter.onmicrosoft.com",
    "management.azure.com",
    "graph.microsoft.com",
    "api-us.securitycenter.microsoft.com",
    "api-eu.securitycenter.microsoft.com",
    "api-uk.securitycenter.microsoft.com",
    "api-au.securitycenter.microsoft.com",
    "api-us.security.microsoft.com",
    "api-eu.security.microsoft.com",
    "api-uk.security.microsoft.com",
    "us.api.security.microsoft.com",
    "eu.api.security.microsoft.com",
    "uk.api.security.microsoft.com",
    "au.api.security.microsoft.com",
    "swa.api.security.microsoft.com",
    "api-gcc.securitycenter.microsoft.us",
    "api-gov.securitycenter.microsoft.us",
];

/// Paths of the TLS material under `<data-dir>/tls`.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub operator_cert: PathBuf,
    pub operator_key: PathBuf,
}

impl TlsPaths {
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("tls");
        Self {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
            operator_cert: dir.join("operator.pem"),
            operator_key: dir.join("operator-key.pem"),
            dir,
        }
    }
}

/// What `ensure` did, for the start banner.
#[derive(Debug, Clone, Default)]
pub struct TlsSetup {
    pub created_ca: bool,
    pub created_server_cert: bool,
    pub created_operator_cert: bool,
}

fn err(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::KeyGen(e.to_string())
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|source| CryptoError::Io { path: path.display().to_string(), source })?;
    f.write_all(contents.as_bytes()).map_err(|source| CryptoError::Io { path: path.display().to_string(), source })
}

fn write_public(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).map_err(|source| CryptoError::Io { path: path.display().to_string(), source })
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| CryptoError::Io { path: path.display().to_string(), source })
}

/// Creates whatever TLS material is missing: the CA (10 years), the server certificate
/// (`extra_sans` added to loopback and [`MICROSOFT_HOSTS`]; re-issued when a requested name is
/// missing from it) and the operator client certificate. Existing files are never overwritten
/// except a server certificate that lacks a requested name.
pub fn ensure(paths: &TlsPaths, extra_sans: &[String]) -> Result<TlsSetup> {
    fs::create_dir_all(&paths.dir)
        .map_err(|source| CryptoError::Io { path: paths.dir.display().to_string(), source })?;
    let mut setup = TlsSetup::default();
    let now = OffsetDateTime::now_utc();

    if !paths.ca_cert.exists() || !paths.ca_key.exists() {
        let key = KeyPair::generate().map_err(err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Palisade Local CA");
        dn.push(DnType::OrganizationName, "Palisade");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        let cert = params.self_signed(&key).map_err(err)?;
        write_private(&paths.ca_key, &key.serialize_pem())?;
        write_public(&paths.ca_cert, &cert.pem())?;
        setup.created_ca = true;
        // A new CA invalidates everything it issued before.
        let _ = fs::remove_file(&paths.server_cert);
        let _ = fs::remove_file(&paths.operator_cert);
    }

    let ca_key = KeyPair::from_pem(&read(&paths.ca_key)?).map_err(err)?;
    let issuer = Issuer::from_ca_cert_pem(&read(&paths.ca_cert)?, ca_key).map_err(err)?;

    let mut wanted: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    wanted.extend(MICROSOFT_HOSTS.iter().map(|s| s.to_string()));
    for s in extra_sans {
        if !wanted.contains(s) {
            wanted.push(s.clone());
        }
    }
    let need_server =
        !paths.server_cert.exists() || !paths.server_key.exists() || !server_covers(&paths.server_cert, &wanted);
    if need_server {
        let key = KeyPair::generate().map_err(err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        params.subject_alt_names = wanted
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName).map_err(err),
            })
            .collect::<Result<_>>()?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Palisade");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(397);
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        write_private(&paths.server_key, &key.serialize_pem())?;
        write_public(&paths.server_cert, &cert.pem())?;
        setup.created_server_cert = true;
    }

    if !paths.operator_cert.exists() || !paths.operator_key.exists() {
        // RSA: Entra accepts RSA keys only for client assertions.
        let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Palisade Operator");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        write_private(&paths.operator_key, &key.serialize_pem())?;
        write_public(&paths.operator_cert, &cert.pem())?;
        setup.created_operator_cert = true;
    }
    Ok(setup)
}

fn server_covers(cert_path: &Path, wanted: &[String]) -> bool {
    let Ok(pem) = fs::read(cert_path) else { return false };
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(&pem) else { return false };
    let Ok(cert) = pem.parse_x509() else { return false };
    let Ok(Some(san)) = cert.subject_alternative_name() else { return false };
    let have: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|g| match g {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            x509_parser::extensions::GeneralName::IPAddress(b) => match b.len() {
                4 => Some(std::net::IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                16 => Some(std::net::IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let expiring = cert.validity().not_after.to_datetime() < OffsetDateTime::now_utc() + Duration::days(30);
    !expiring && wanted.iter().all(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_material_once_and_reissues_for_new_names() {
        let dir = std::env::temp_dir().join(format!("palisade-tls-{}", hex::encode(crate::random::bytes::<6>())));
        let paths = TlsPaths::new(&dir);
        let first = ensure(&paths, &[]).unwrap();
        assert!(first.created_ca && first.created_server_cert && first.created_operator_cert);
        let again = ensure(&paths, &[]).unwrap();
        assert!(!again.created_ca && !again.created_server_cert);
        let more = ensure(&paths, &["palisade.test".to_string()]).unwrap();
        assert!(more.created_server_cert && !more.created_ca);
        let op = crate::cert::parse_certificate(&fs::read(&paths.operator_cert).unwrap()).unwrap();
        assert!(op.subject.contains("Palisade Operator"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&paths.ca_key).unwrap().permissions().mode() & 0o777, 0o600);
        }
        fs::remove_dir_all(dir).unwrap();
    }
}
