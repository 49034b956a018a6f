//! The interactive pages: sign-in, consent, admin consent, device login, sign-out, and the `/jwt`
//! token decoder. One state machine ([`drive`]) decides, for a pending interaction and the
//! browser's session, which page comes next or where to redirect.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use palisade_crypto::{b64, hashing, random};
use palisade_directory::{BrowserSession, DeviceCodeRecord, Tenant, User};
use palisade_identity::authorize::{AuthorizeRequest, ValidAuthorize};
use palisade_identity::claims::EndpointVersion;
use palisade_identity::consent::RequestedPermission;
use palisade_identity::errors::{self, AadError};
use palisade_identity::tenancy::TenantSegment;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::oauth::parse_form;
use crate::AppState;

const SESSION_COOKIE: &str = "palisade_session";

/// What the browser is in the middle of; carried through the forms as `ctx`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Interaction {
    Authorize { v: u8, tenant: String, params: HashMap<String, String> },
    AdminConsent { v: u8, tenant: String, params: HashMap<String, String> },
    Device { user_code: String },
}

impl Interaction {
    fn encode(&self) -> String {
        b64::url_encode(serde_json::to_vec(self).expect("serialisable"))
    }
    fn decode(s: &str) -> Option<Self> {
        serde_json::from_slice(&b64::url_decode_lenient(s)?).ok()
    }
    fn request(&self) -> Option<AuthorizeRequest> {
        match self {
            Self::Authorize { v, tenant, params } | Self::AdminConsent { v, tenant, params } => {
                Some(AuthorizeRequest {
                    version: if *v == 1 { EndpointVersion::V1 } else { EndpointVersion::V2 },
                    tenant: tenant.clone(),
                    params: params.clone(),
                })
            }
            Self::Device { .. } => None,
        }
    }
    fn tenant_segment(&self) -> String {
        match self {
            Self::Authorize { tenant, .. } | Self::AdminConsent { tenant, .. } => tenant.clone(),
            Self::Device { .. } => "organizations".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Markup

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                main.card {
                    div.brand { "Palisade" span.sub { " · Microsoft Entra ID compatible sign-in" } }
                    (body)
                }
            }
        }
    }
}

const CSS: &str = "body{font-family:'Segoe UI',system-ui,sans-serif;background:#f2f2f2;margin:0;padding:40px 12px;color:#1b1b1b}\
.card{max-width:460px;margin:0 auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}\
.brand{font-weight:600;margin-bottom:16px}.sub{font-weight:400;color:#666;font-size:.85em}\
h1{font-size:1.5rem;font-weight:600;margin:0 0 12px}input[type=text],input[type=password],input[type=email],textarea{width:100%;box-sizing:border-box;padding:6px 0;border:0;border-bottom:1px solid #666;font-size:1rem;margin:8px 0 16px}\
textarea{border:1px solid #666;font-family:monospace;font-size:.8rem;padding:6px}\
button{background:#0067b8;color:#fff;border:0;padding:8px 28px;font-size:1rem;cursor:pointer;margin-right:8px}button.secondary{background:#ccc;color:#1b1b1b}\
.error{color:#e81123;margin:8px 0}.muted{color:#666;font-size:.85em}ul.perms{padding-left:18px}ul.perms li{margin:6px 0}\
.tag{font-size:.75em;background:#fde7e9;color:#a4262c;padding:1px 6px;margin-left:6px}pre{background:#f6f6f6;padding:10px;overflow:auto;font-size:.8rem}\
table{border-collapse:collapse;width:100%;font-size:.85rem}td{border-bottom:1px solid #eee;padding:4px;vertical-align:top;word-break:break-all}";

fn page(title: &str, body: Markup) -> Response {
    let mut r = Html(layout(title, body).into_string()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

/// "Sorry, but we're having trouble signing you in" — for errors that cannot be redirected.
fn error_page(e: &AadError) -> Response {
    let mut r = page(
        "Sign in to your account",
        html! {
            h1 { "Sorry, but we're having trouble signing you in." }
            p.error { (e.description()) }
            p.muted { "Request Id: " (uuid::Uuid::new_v4()) br; "Timestamp: " (errors::timestamp(OffsetDateTime::now_utc())) }
        },
    );
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

fn sign_in_page(tenant: &str, it: &Interaction, login_hint: Option<&str>, error: Option<&str>) -> Response {
    page(
        "Sign in to your account",
        html! {
            h1 { "Sign in" }
            @if let Some(e) = error { p.error id="usernameError" { (e) } }
            form method="post" action={ "/" (tenant) "/login" } {
                input type="hidden" name="ctx" value=(it.encode());
                label for="login" { "Email, phone, or Skype" }
                input type="email" id="login" name="login" value=(login_hint.unwrap_or("")) autofocus required;
                label for="passwd" { "Password" }
                input type="password" id="passwd" name="passwd" required;
                button type="submit" id="idSIButton9" { "Sign in" }
            }
        },
    )
}

fn consent_page(
    tenant_seg: &str,
    it: &Interaction,
    client: &palisade_directory::Application,
    perms: &[RequestedPermission],
    user: &User,
    csrf: &str,
    admin_mode: bool,
) -> Response {
    let mut by_resource: Vec<(&str, Vec<&RequestedPermission>)> = Vec::new();
    for p in perms {
        match by_resource.iter_mut().find(|(r, _)| *r == p.resource_name) {
            Some((_, v)) => v.push(p),
            None => by_resource.push((&p.resource_name, vec![p])),
        }
    }
    let needs_admin = perms.iter().any(|p| p.admin_only);
    let can_org = user.can_consent_delegated_for_tenant() || user.can_consent_app_roles();
    page(
        "Permissions requested",
        html! {
            p.muted { (user.user_principal_name) }
            h1 { @if admin_mode { "Permissions requested" br; span.muted { "Accept for your organization" } } @else { "Permissions requested" } }
            p { strong { (client.display_name) } br; span.muted { "App ID: " (client.app_id) " · Publisher domain: " (client.publisher_domain.as_deref().unwrap_or("unverified")) } }
            p { "This application is requesting the following permissions:" }
            @for (resource, list) in &by_resource {
                p.muted { (resource) }
                ul.perms {
                    @for p in list {
                        li data-permission=(p.value) {
                            (p.display_name) " " span.muted { "(" (p.value) @if p.kind == palisade_directory::PermissionKind::Role { ", application" } @else { ", delegated" } ")" }
                            @if p.admin_only { span.tag { "Admin consent required" } }
                        }
                    }
                }
            }
            @if perms.is_empty() { p.muted { "No additional permissions: sign-in only." } }
            @if needs_admin && !can_org {
                p.error { "Need admin approval. " (client.display_name) " needs permission to access resources in your organization that only an admin can grant. Ask an admin to grant permission to this app before you can use it." }
            }
            form method="post" action={ "/" (tenant_seg) "/consent" } {
                input type="hidden" name="ctx" value=(it.encode());
                input type="hidden" name="csrf" value=(csrf);
                @if !admin_mode && can_org {
                    p { label { input type="checkbox" name="org" value="1" checked[needs_admin]; " Consent on behalf of your organization" } }
                }
                p.muted { "Accepting these permissions means that you allow this app to use your data as specified in their terms of service and privacy statement." }
                button type="submit" name="decision" value="accept" id="idBtn_Accept" { "Accept" }
                button.secondary type="submit" name="decision" value="cancel" id="idBtn_Back" { "Cancel" }
            }
        },
    )
}

fn device_page(error: Option<&str>) -> Response {
    page(
        "Enter code",
        html! {
            h1 { "Enter code" }
            p { "Enter the code displayed on your app or device." }
            @if let Some(e) = error { p.error { (e) } }
            form method="post" action="/devicelogin" {
                input type="text" name="otc" id="otc" placeholder="Code" autofocus required;
                button type="submit" id="idSIButton9" { "Next" }
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Sessions

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

async fn session(state: &AppState, headers: &HeaderMap) -> Option<(BrowserSession, Tenant, User)> {
    let raw = cookie(headers, SESSION_COOKIE)?;
    let hash = hashing::lookup_hash(&raw);
    let s = state.identity.stores.grants.session(&hash, OffsetDateTime::now_utc()).await.ok()??;
    let tenant = state.identity.stores.directory.tenant(s.tenant_id).await.ok()??;
    let user = state.identity.stores.directory.user(s.tenant_id, s.user_id).await.ok()??;
    user.account_enabled.then_some((s, tenant, user))
}

// ---------------------------------------------------------------------------------------------
// Redirects back to the client

fn redirect_with(v: &ValidAuthorize, req: &AuthorizeRequest, params: Vec<(&str, String)>) -> Response {
    let mut params = params;
    if let Some(state) = req.param("state") {
        params.push(("state", state.to_string()));
    }
    let mode = req.param("response_mode").unwrap_or("query");
    if mode.eq_ignore_ascii_case("form_post") {
        return page(
            "Working...",
            html! {
                form method="post" name="hiddenform" action=(v.redirect_uri) {
                    @for (k, val) in &params { input type="hidden" name=(k) value=(val); }
                    noscript { p { "Script is disabled. Click Submit to continue." } button type="submit" { "Submit" } }
                }
                script { (PreEscaped("document.forms.hiddenform.submit();")) }
            },
        );
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let sep = if mode.eq_ignore_ascii_case("fragment") {
        '#'
    } else if v.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    found(&format!("{}{sep}{encoded}", v.redirect_uri))
}

/// Entra answers with 302 Found, not 303.
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => error_page(&AadError::new(
            50011,
            "invalid_request",
            400,
            "The redirect URI contains characters that cannot be sent in a Location header.",
        )),
    }
}

fn error_redirect(v: &ValidAuthorize, req: &AuthorizeRequest, e: &AadError, extra: Vec<(&str, String)>) -> Response {
    let mut p = vec![("error", e.error.to_string()), ("error_description", e.description())];
    p.extend(extra);
    redirect_with(v, req, p)
}

// ---------------------------------------------------------------------------------------------
// The state machine

struct Signed {
    session: BrowserSession,
    tenant: Tenant,
    user: User,
}

async fn drive(state: &AppState, it: Interaction, signed: Option<Signed>, force_login: bool) -> Response {
    let id = &state.identity;
    if let Interaction::Device { user_code } = &it {
        let Ok(Some((hash, rec))) = id.pending_device_code(user_code).await else {
            return device_page(Some("That code didn't work. Check the code and try again: it may have expired."));
        };
        let Some(s) = signed.filter(|_| !force_login) else { return sign_in_page("organizations", &it, None, None) };
        return device_step(state, &it, hash, rec, s, None).await;
    }
    let req = it.request().expect("authorize interaction");
    let v = match id.validate_authorize(&req).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let admin_endpoint = matches!(it, Interaction::AdminConsent { .. });
    if !admin_endpoint {
        match req.param("response_type") {
            Some("code") => {}
            None => return error_redirect(&v, &req, &errors::missing_parameter("response_type"), vec![]),
            Some(other) => {
                let e = AadError::new(
                    700054,
                    "unsupported_response_type",
                    400,
                    format!(
                        "response_type '{other}' is not enabled for the application. Palisade supports the authorization code flow (response_type=code)."
                    ),
                );
                return error_redirect(&v, &req, &e, vec![]);
            }
        }
    }
    let signed = signed.filter(|s| !force_login && v.tenant.as_ref().is_none_or(|t| t.id == s.tenant.id));
    let Some(s) = signed else {
        if req.prompt() == Some("none") {
            return error_redirect(
                &v,
                &req,
                &AadError::new(
                    50058,
                    "login_required",
                    400,
                    "A silent sign-in request was sent but no user is signed in.",
                ),
                vec![],
            );
        }
        return sign_in_page(&req.tenant, &it, req.param("login_hint"), None);
    };
    if !v.client.sign_in_audience.is_multi_tenant() && v.client.tenant_id != s.tenant.id {
        return error_page(&errors::app_not_found(&v.client.app_id.to_string(), &s.tenant.id.to_string()));
    }
    let extra_scope = if req.version == EndpointVersion::V2 { req.param("scope") } else { None };
    let perms = match id.requested_permissions(&s.tenant, &v.client, extra_scope).await {
        Ok(p) => p,
        Err(e) => return error_redirect(&v, &req, &e, vec![]),
    };
    let admin_mode = admin_endpoint || req.prompt() == Some("admin_consent");
    let missing = match id.missing_consent(&s.tenant, &v.client, &s.user, &perms).await {
        Ok(m) => m,
        Err(e) => return error_page(&e),
    };
    let must_show = admin_mode || req.prompt() == Some("consent") || !missing.is_empty();
    if must_show {
        if req.prompt() == Some("none") {
            let e = errors::consent_required(&v.client.app_id.to_string(), &v.client.display_name, "");
            return error_redirect(&v, &req, &AadError { error: "consent_required", ..e }, vec![]);
        }
        let shown = if admin_mode || req.prompt() == Some("consent") { &perms } else { &missing };
        return consent_page(&req.tenant, &it, &v.client, shown, &s.user, &s.session.csrf, admin_mode);
    }
    complete(state, &it, &req, &v, &s).await
}

/// Consent is in place: send the client what it asked for.
async fn complete(
    state: &AppState,
    it: &Interaction,
    req: &AuthorizeRequest,
    v: &ValidAuthorize,
    s: &Signed,
) -> Response {
    match it {
        Interaction::AdminConsent { v: ver, .. } => {
            let mut p = vec![("admin_consent", "True".to_string()), ("tenant", s.tenant.id.to_string())];
            if *ver == 2
                && let Some(scope) = req.param("scope")
            {
                p.push(("scope", scope.to_string()));
            }
            redirect_with(v, req, p)
        }
        _ => match state.identity.issue_code(req, v, &s.tenant, &s.user, s.session.auth_time).await {
            Ok(code) => {
                let mut p = vec![("code", code)];
                if req.version == EndpointVersion::V1 && req.prompt() == Some("admin_consent") {
                    p.push(("admin_consent", "True".into()));
                }
                p.push(("session_state", uuid::Uuid::new_v4().to_string()));
                redirect_with(v, req, p)
            }
            Err(e) => error_redirect(v, req, &e, vec![]),
        },
    }
}

async fn device_step(
    state: &AppState,
    it: &Interaction,
    hash: String,
    rec: DeviceCodeRecord,
    s: Signed,
    decision: Option<(&str, bool)>,
) -> Response {
    let id = &state.identity;
    let Ok(client) = id.client_app(&rec.client_app_id.to_string(), &s.tenant.id.to_string()).await else {
        return device_page(Some("The application that started this sign-in no longer exists."));
    };
    let scope = if rec.scope.is_empty() { None } else { Some(rec.scope.as_str()) };
    let perms = match id.requested_permissions(&s.tenant, &client, scope).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    match decision {
        None => {
            let missing = id.missing_consent(&s.tenant, &client, &s.user, &perms).await.unwrap_or(perms.clone());
            if !missing.is_empty() {
                return consent_page("organizations", it, &client, &missing, &s.user, &s.session.csrf, false);
            }
        }
        Some(("cancel", _)) => {
            let _ = id.decide_device_code(&hash, rec, &s.tenant, &s.user, false, s.session.auth_time).await;
            return page(
                "Sign in",
                html! { h1 { "Sign-in cancelled" } p { "You declined to sign in to " (client.display_name) " on your device." } },
            );
        }
        Some((_, org)) => {
            let missing = id.missing_consent(&s.tenant, &client, &s.user, &perms).await.unwrap_or(perms.clone());
            let r = if org || missing.iter().any(|p| p.admin_only) {
                id.grant_admin_consent(&s.tenant, &client, &missing, Some(&s.user)).await
            } else {
                id.grant_user_consent(&s.tenant, &client, &s.user, &missing).await
            };
            if let Err(e) = r {
                return error_page(&e);
            }
        }
    }
    if let Err(e) = id.decide_device_code(&hash, rec, &s.tenant, &s.user, true, s.session.auth_time).await {
        return error_page(&e);
    }
    page(
        "Sign in",
        html! {
            h1 { (client.display_name) }
            p { "You have signed in to the " (client.display_name) " application on your device. You may now close this window." }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn signed(state: &AppState, headers: &HeaderMap) -> Option<Signed> {
    session(state, headers).await.map(|(session, tenant, user)| Signed { session, tenant, user })
}

async fn start(state: AppState, headers: HeaderMap, it: Interaction, force_login: bool) -> Response {
    let s = signed(&state, &headers).await;
    drive(&state, it, s, force_login).await
}

pub async fn authorize_v1(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let force = params.get("prompt").is_some_and(|p| p == "login");
    start(state, headers, Interaction::Authorize { v: 1, tenant, params }, force).await
}

pub async fn authorize_v2(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let force = params.get("prompt").is_some_and(|p| p == "login");
    start(state, headers, Interaction::Authorize { v: 2, tenant, params }, force).await
}

pub async fn adminconsent_v1(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    start(state, headers, Interaction::AdminConsent { v: 1, tenant, params }, false).await
}

pub async fn adminconsent_v2(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if matches!(TenantSegment::parse(&tenant), Ok(TenantSegment::Common | TenantSegment::Consumers)) {
        return error_page(&AadError::new(
            90130,
            "invalid_request",
            400,
            "The /adminconsent endpoint does not support the /common or /consumers tenant. Use the tenant ID, a verified domain, or /organizations.",
        ));
    }
    start(state, headers, Interaction::AdminConsent { v: 2, tenant, params }, false).await
}

/// `POST /{tenant}/login`: the sign-in form.
pub async fn login(State(state): State<AppState>, Path(tenant_seg): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let Some(it) = form.get("ctx").and_then(|c| Interaction::decode(c)) else {
        return error_page(&errors::missing_parameter("ctx"));
    };
    let username = form.get("login").map(|s| s.trim().to_string()).unwrap_or_default();
    let password = form.get("passwd").cloned().unwrap_or_default();
    let id = &state.identity;
    let seg_str = it.tenant_segment();
    let tenant = async {
        let seg = TenantSegment::parse(&seg_str)?;
        let t = seg.resolve(&id.stores).await?;
        id.tenant_for_user(&seg, t, &username).await
    }
    .await;
    let result = match tenant {
        Ok(t) => id.check_password(&t, &username, &password).await.map(|u| (t, u)),
        Err(e) => Err(e),
    };
    let (tenant, user) = match result {
        Ok(x) => x,
        Err(e) => {
            let msg = match e.code {
                50126 => "Your account or password is incorrect. If you don't remember your password, reset it now."
                    .to_string(),
                50034 | 90002 => {
                    "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin."
                        .to_string()
                }
                50053 => "Your account is temporarily locked to prevent unauthorized use. Try again later.".to_string(),
                _ => e.description(),
            };
            let mut r = sign_in_page(&tenant_seg, &it, Some(&username), Some(&format!("{msg} (AADSTS{})", e.code)));
            *r.status_mut() = StatusCode::OK;
            return r;
        }
    };
    let raw = random::opaque_token();
    let now = OffsetDateTime::now_utc();
    let session = BrowserSession {
        tenant_id: tenant.id,
        user_id: user.id,
        csrf: random::opaque_token(),
        auth_time: now,
        expires_at: now + id.config.session_lifetime,
    };
    let hash = hashing::lookup_hash(&raw);
    if let Err(e) = id.stores.grants.put_session(&hash, &session).await {
        return error_page(&errors::server_error(e));
    }
    tracing::info!(tenant = %tenant.id, user = %user.id, "browser sign-in");
    let mut r = drive(&state, it, Some(Signed { session, tenant, user }), false).await;
    let max_age = id.config.session_lifetime.whole_seconds();
    let c = format!("{SESSION_COOKIE}={raw}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={max_age}");
    r.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).expect("cookie"));
    r
}

/// `POST /{tenant}/consent`: Accept or Cancel on the consent page.
pub async fn consent(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let Some(it) = form.get("ctx").and_then(|c| Interaction::decode(c)) else {
        return error_page(&errors::missing_parameter("ctx"));
    };
    let Some(s) = signed(&state, &headers).await else {
        return sign_in_page(&it.tenant_segment(), &it, None, Some("Your session has expired. Sign in again."));
    };
    if form.get("csrf").map(String::as_bytes) != Some(s.session.csrf.as_bytes()) {
        return error_page(&AadError::new(
            90015,
            "invalid_request",
            400,
            "The request could not be verified (anti-forgery token mismatch). Start the sign-in again.",
        ));
    }
    let accept = form.get("decision").map(String::as_str) == Some("accept");
    let org = form.contains_key("org");
    let id = &state.identity;
    if let Interaction::Device { user_code } = &it {
        let Ok(Some((hash, rec))) = id.pending_device_code(user_code).await else {
            return device_page(Some("That code didn't work. Check the code and try again: it may have expired."));
        };
        return device_step(&state, &it, hash, rec, s, Some((if accept { "accept" } else { "cancel" }, org))).await;
    }
    let req = it.request().expect("authorize interaction");
    let v = match id.validate_authorize(&req).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let admin_endpoint = matches!(it, Interaction::AdminConsent { .. });
    let admin_extra = if admin_endpoint { vec![("admin_consent", "True".to_string())] } else { vec![] };
    if !accept {
        tracing::info!(tenant = %s.tenant.id, client = %v.client.app_id, "consent declined");
        if admin_endpoint && req.version == EndpointVersion::V1 {
            return error_redirect(
                &v,
                &req,
                &AadError::new(65004, "permission_denied", 400, "The admin canceled the request"),
                vec![],
            );
        }
        let mut extra = admin_extra;
        extra.push(("error_subcode", "cancel".into()));
        return error_redirect(&v, &req, &errors::consent_declined(), extra);
    }
    let extra_scope = if req.version == EndpointVersion::V2 { req.param("scope") } else { None };
    let perms = match id.requested_permissions(&s.tenant, &v.client, extra_scope).await {
        Ok(p) => p,
        Err(e) => return error_redirect(&v, &req, &e, admin_extra),
    };
    let admin_mode =
        admin_endpoint || req.prompt() == Some("admin_consent") || org || perms.iter().any(|p| p.admin_only);
    let result = if admin_mode {
        id.grant_admin_consent(&s.tenant, &v.client, &perms, Some(&s.user)).await
    } else {
        let missing = id.missing_consent(&s.tenant, &v.client, &s.user, &perms).await.unwrap_or(perms.clone());
        id.grant_user_consent(&s.tenant, &v.client, &s.user, &missing).await
    };
    if let Err(e) = result {
        tracing::info!(tenant = %s.tenant.id, client = %v.client.app_id, code = e.code, "consent refused");
        return error_redirect(&v, &req, &e, admin_extra);
    }
    complete(&state, &it, &req, &v, &s).await
}

pub async fn devicelogin_form() -> Response {
    device_page(None)
}

pub async fn devicelogin_submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let code = form.get("otc").cloned().unwrap_or_default();
    start(state, headers, Interaction::Device { user_code: code }, false).await
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(raw) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.identity.stores.grants.delete_session(&hashing::lookup_hash(&raw)).await;
    }
    // Only to a URI registered on the named application: anything else would be an open redirect.
    let target = match (q.get("post_logout_redirect_uri"), q.get("client_id")) {
        (Some(uri), Some(client_id)) => match state.identity.client_app(client_id, "common").await {
            Ok(app) if app.redirect_uri_registered(uri) => Some(uri.clone()),
            _ => None,
        },
        _ => None,
    };
    let mut r = match target {
        Some(u) => found(&u),
        None => page(
            "Sign out",
            html! { h1 { "You signed out of your account" } p { "It's a good idea to close all browser windows." } },
        ),
    };
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("palisade_session=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0"),
    );
    r
}

// ---------------------------------------------------------------------------------------------
// /jwt — what the seed pages send people to jwt.ms for.

pub async fn jwt_form() -> Response {
    jwt_page(None, None).await
}

pub async fn jwt_submit(State(state): State<AppState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let token = form.get("token").map(|t| t.trim().trim_start_matches("Bearer ").to_string()).unwrap_or_default();
    let result = state.identity.inspect(&token).await;
    jwt_page(Some(&token), Some(result)).await
}

async fn jwt_page(
    token: Option<&str>,
    result: Option<Result<palisade_identity::validate::Inspection, palisade_identity::validate::TokenInvalid>>,
) -> Response {
    let fmt_time = |v: &serde_json::Value| {
        v.as_i64()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| "—".into())
    };
    page(
        "Decoded token",
        html! {
            h1 { "Decode a token" }
            form method="post" action="/jwt" {
                textarea name="token" rows="6" placeholder="Paste a token (eyJ...)" { (token.unwrap_or("")) }
                button type="submit" { "Decode" }
            }
            @match result {
                None => {}
                Some(Err(e)) => { p.error { (e.to_string()) } }
                Some(Ok(i)) => {
                    h1 { "Summary" }
                    table {
                        tr { td { "Signature" } td id="signature" { @match i.signature_valid { Some(true) => "Verified against Palisade's published keys", Some(false) => "INVALID", None => "Unknown key (not signed by this Palisade)" } } }
                        tr { td { "Tenant (tid)" } td id="tid" { (i.claims["tid"].as_str().unwrap_or("—")) } }
                        tr { td { "Audience (aud)" } td { (i.claims["aud"].as_str().unwrap_or("—")) } }
                        tr { td { "Issuer (iss)" } td { (i.claims["iss"].as_str().unwrap_or("—")) } }
                        tr { td { "Application (appid/azp)" } td { (i.claims["appid"].as_str().or(i.claims["azp"].as_str()).unwrap_or("—")) } }
                        tr { td { "roles" } td id="roles" { @if let Some(r) = i.claims["roles"].as_array() { (r.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")) } @else { "— (none)" } } }
                        tr { td { "scp" } td id="scp" { (i.claims["scp"].as_str().unwrap_or("— (none)")) } }
                        tr { td { "Expires (exp)" } td id="exp" { (fmt_time(&i.claims["exp"])) @if i.expired { " — EXPIRED" } } }
                    }
                    h1 { "Header" } pre { (serde_json::to_string_pretty(&i.header).unwrap_or_default()) }
                    h1 { "Claims" } pre { (serde_json::to_string_pretty(&i.claims).unwrap_or_default()) }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_round_trips() {
        let mut params = HashMap::new();
        params.insert("client_id".to_string(), "x".to_string());
        let it = Interaction::Authorize { v: 1, tenant: "common".into(), params };
        let back = Interaction::decode(&it.encode()).unwrap();
        assert!(matches!(back, Interaction::Authorize { v: 1, .. }));
        assert!(Interaction::decode("!!!").is_none());
    }

    #[test]
    fn cookie_lookup() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; palisade_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
    }
}
