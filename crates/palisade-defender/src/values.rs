//! Input values every Defender endpoint validates the same way — hashes, IP addresses, domain
//! names, enum members, body properties — with the service's error codes, so that an indicator,
//! a quarantine request and a file lookup refuse the same bad hash with the same answer.

use serde_json::Value;

use crate::errors::DefenderError;

pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A hex hash of one of the given lengths (40 SHA-1, 64 SHA-256, 32 MD5), lowercased.
pub fn hash(v: &str, lengths: &[usize]) -> Result<String, DefenderError> {
    if lengths.iter().any(|&n| is_hex(v, n)) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(DefenderError::new(400, "InvalidHashValue", format!("Hash value {v} is invalid.")))
    }
}

/// An IPv4 or IPv6 address, in canonical text form.
pub fn ip_address(v: &str) -> Result<String, DefenderError> {
    v.parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| DefenderError::new(400, "InvalidIpAddress", format!("IP address {v} is invalid.")))
}

/// A DNS name of at least two labels, lowercased.
pub fn domain_name(v: &str) -> Result<String, DefenderError> {
    let ok = v.len() <= 253
        && v.contains('.')
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
        });
    if ok {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(DefenderError::new(400, "InvalidDomainName", format!("Domain name {v} is invalid.")))
    }
}

/// The member of `allowed` that `value` names, ignoring ASCII case, in its canonical spelling.
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, DefenderError> {
    allowed.iter().find(|a| a.eq_ignore_ascii_case(value)).map(|a| a.to_string()).ok_or_else(|| {
        DefenderError::new(
            400,
            "InvalidInput",
            format!("Invalid input {field}: '{value}'. Allowed values: {}.", allowed.join(", ")),
        )
    })
}

/// A non-null body property by its documented name, ignoring case: the doc tables and examples
/// disagree on PascalCase vs camelCase, and clients copy either.
pub fn body_prop<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_validators() {
        assert_eq!(hash("AB".repeat(20).as_str(), &[40]).unwrap(), "ab".repeat(20));
        assert_eq!(hash("abc", &[40, 64]).unwrap_err().code, "InvalidHashValue");
        assert_eq!(ip_address("::1").unwrap(), "::1");
        assert_eq!(ip_address("10.0.0.0/8").unwrap_err().code, "InvalidIpAddress");
        assert_eq!(domain_name("Evil.Example.com").unwrap(), "evil.example.com");
        assert_eq!(domain_name("-bad.example.com").unwrap_err().code, "InvalidDomainName");
        assert_eq!(one_of("ScanType", "quick", &["Quick", "Full"]).unwrap(), "Quick");
        let body = serde_json::json!({"comment": "x", "Sha1": null});
        assert_eq!(body_prop(&body, "Comment"), Some(&serde_json::json!("x")));
        assert_eq!(body_prop(&body, "sha1"), None);
    }
}
