//! Token contents: the claims Entra puts in v1 and v2 access tokens and ID tokens
//! (`identity-protocol.md` §2.2), and their signing.

use palisade_crypto::{b64, random, signing::SigningKey};
use palisade_directory::{Application, DirectoryRole, User};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::IdentityError;

/// Which token endpoint answered (decides the response shape and the ID token version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointVersion {
    V1,
    V2,
}

/// How the client proved who it is: the `appidacr` / `azpacr` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// Public client, nothing presented.
    None,
    Secret,
    Certificate,
}

impl ClientAuthMethod {
    pub fn acr(self) -> &'static str {
        match self {
            Self::None => "0",
            Self::Secret => "1",
            Self::Certificate => "2",
        }
    }
}

/// `https://sts.windows.net/{tid}/` — the v1 issuer, the same whichever host issued the token.
pub fn v1_issuer(tid: Uuid) -> String {
    format!("https://sts.windows.net/{tid}/")
}

/// `{base}/{tid}/v2.0` — the v2 issuer names the host the client called, so it matches the
/// discovery document that client read.
pub fn v2_issuer(base_url: &str, tid: Uuid) -> String {
    format!("{base_url}/{tid}/v2.0")
}

#[derive(Serialize, Default)]
struct Header<'a> {
    typ: &'static str,
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5t: Option<&'a str>,
    kid: &'a str,
}

/// Every claim Palisade may emit; unset ones are left out, never sent as null.
#[derive(Serialize, Default, Debug, Clone)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_displayname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appidacr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azpacr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipaddr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub oid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    pub rh: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    pub sub: String,
    pub tid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    pub uti: String,
    pub ver: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wids: Option<Vec<String>>,
}

/// Who the token is about.
pub enum Subject<'a> {
    /// App-only: the client's service principal in the token's tenant.
    App { client_sp_id: Uuid },
    /// Delegated: a signed-in user.
    User { user: &'a User, amr: &'a [String] },
}

/// Input for one access token.
pub struct AccessTokenSpec<'a> {
    pub tenant_id: Uuid,
    pub resource: &'a Application,
    /// `aud` for v1-format tokens, as the client named the resource.
    pub requested_audience: &'a str,
    pub client: &'a Application,
    pub client_auth: ClientAuthMethod,
    pub subject: Subject<'a>,
    pub roles: Vec<String>,
    pub scp: Option<String>,
    pub base_url: &'a str,
    pub client_ip: Option<&'a str>,
}

/// A signed token and its times.
#[derive(Debug, Clone)]
pub struct Minted {
    pub jwt: String,
    pub claims: Claims,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

fn opaque(n: usize) -> String {
    let b = random::bytes::<48>();
    b64::url_encode(&b[..n.min(48)])
}

/// Entra's `sub` for users is pairwise: stable per user and application, different across apps.
pub fn pairwise_sub(user: Uuid, client_app_id: Uuid) -> String {
    let mut h = Sha256::new();
    h.update(user.as_bytes());
    h.update(client_app_id.as_bytes());
    b64::url_encode(h.finalize())[..43].to_string()
}

fn wids(user: &User) -> Option<Vec<String>> {
    let mut w: Vec<String> = user.directory_roles.iter().map(|r: &DirectoryRole| r.template_id().to_string()).collect();
    if w.is_empty() {
        return None;
    }
    // Every member carries the "directory reader" template id in real tokens.
    w.push("b79fbf4d-3ef9-4689-8143-76b194e85509".into());
    Some(w)
}

/// Builds and signs an access token.
pub fn mint_access_token(
    key: &SigningKey,
    spec: &AccessTokenSpec<'_>,
    now: OffsetDateTime,
    lifetime: Duration,
    backdate: Duration,
) -> Result<Minted, IdentityError> {
    let v2 = spec.resource.issues_v2_tokens();
    let tid = spec.tenant_id;
    let iat = now - backdate;
    let exp = now + lifetime;
    let mut c = Claims {
        aud: if v2 { spec.resource.app_id.to_string() } else { spec.requested_audience.to_string() },
        iss: if v2 { v2_issuer(spec.base_url, tid) } else { v1_issuer(tid) },
        iat: iat.unix_timestamp(),
        nbf: iat.unix_timestamp(),
        exp: exp.unix_timestamp(),
        aio: Some(opaque(42)),
        oid: String::new(),
        rh: format!("0.A{}", opaque(30)),
        sub: String::new(),
        tid: tid.to_string(),
        uti: opaque(16),
        ver: if v2 { "2.0" } else { "1.0" },
        roles: (!spec.roles.is_empty()).then(|| spec.roles.clone()),
        scp: spec.scp.clone().filter(|s| !s.is_empty()),
        app_displayname: Some(spec.client.display_name.clone()),
        ..Default::default()
    };
    if v2 {
        c.azp = Some(spec.client.app_id.to_string());
        c.azpacr = Some(spec.client_auth.acr());
    } else {
        c.appid = Some(spec.client.app_id.to_string());
        c.appidacr = Some(spec.client_auth.acr());
    }
    match &spec.subject {
        Subject::App { client_sp_id } => {
            c.oid = client_sp_id.to_string();
            c.sub = client_sp_id.to_string();
            c.idtyp = Some("app");
            c.idp = Some(v1_issuer(tid));
        }
        Subject::User { user, amr } => {
            c.oid = user.id.to_string();
            c.sub = pairwise_sub(user.id, spec.client.app_id);
            c.idtyp = Some("user");
            c.name = Some(user.display_name.clone());
            c.wids = wids(user);
            if v2 {
                c.preferred_username = Some(user.user_principal_name.clone());
            } else {
                c.acr = Some("1");
                c.amr = Some(amr.to_vec());
                c.upn = Some(user.user_principal_name.clone());
                c.unique_name = Some(user.user_principal_name.clone());
                c.given_name = user.given_name.clone();
                c.family_name = user.surname.clone();
                c.ipaddr = spec.client_ip.map(str::to_string);
            }
        }
    }
    let header = Header { typ: "JWT", alg: "RS256", x5t: (!v2).then_some(key.kid()), kid: key.kid() };
    let jwt = key.sign_jwt(&header, &c)?;
    Ok(Minted { jwt, claims: c, issued_at: iat, expires_at: exp })
}

/// Input for one ID token.
pub struct IdTokenSpec<'a> {
    pub version: EndpointVersion,
    pub tenant_id: Uuid,
    pub client: &'a Application,
    pub user: &'a User,
    pub nonce: Option<&'a str>,
    pub amr: &'a [String],
    pub include_email: bool,
    pub base_url: &'a str,
}

pub fn mint_id_token(
    key: &SigningKey,
    spec: &IdTokenSpec<'_>,
    now: OffsetDateTime,
    lifetime: Duration,
    backdate: Duration,
) -> Result<String, IdentityError> {
    let tid = spec.tenant_id;
    let iat = now - backdate;
    let v1 = spec.version == EndpointVersion::V1;
    let mut c = Claims {
        aud: spec.client.app_id.to_string(),
        iss: if v1 { v1_issuer(tid) } else { v2_issuer(spec.base_url, tid) },
        iat: iat.unix_timestamp(),
        nbf: iat.unix_timestamp(),
        exp: (now + lifetime).unix_timestamp(),
        aio: (!v1).then(|| opaque(42)),
        name: Some(spec.user.display_name.clone()),
        nonce: spec.nonce.map(str::to_string),
        oid: spec.user.id.to_string(),
        rh: format!("0.A{}", opaque(30)),
        sub: pairwise_sub(spec.user.id, spec.client.app_id),
        tid: tid.to_string(),
        uti: opaque(16),
        ver: if v1 { "1.0" } else { "2.0" },
        ..Default::default()
    };
    if v1 {
        c.amr = Some(spec.amr.to_vec());
        c.upn = Some(spec.user.user_principal_name.clone());
        c.unique_name = Some(spec.user.user_principal_name.clone());
        c.given_name = spec.user.given_name.clone();
        c.family_name = spec.user.surname.clone();
    } else {
        c.preferred_username = Some(spec.user.user_principal_name.clone());
        if spec.include_email {
            c.email = Some(spec.user.user_principal_name.clone());
        }
    }
    let header = Header { typ: "JWT", alg: "RS256", x5t: None, kid: key.kid() };
    Ok(key.sign_jwt(&header, &c)?)
}

/// `client_info` = base64url(`{"uid": oid, "utid": tid}`), what MSAL keys its cache on.
pub fn client_info(user: Uuid, tenant: Uuid) -> String {
    b64::url_encode(serde_json::json!({"uid": user.to_string(), "utid": tenant.to_string()}).to_string())
}
