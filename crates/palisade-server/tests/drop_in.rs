//! Drop-in mode: clients keep Microsoft's URLs and only set HTTPS_PROXY; Palisade terminates the
//! CONNECT tunnel itself and answers as login.microsoftonline.com.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn clients_keep_microsoft_urls_behind_the_drop_in_proxy() {
    let s = TestServer::start_with(|c| c.drop_in_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let proxy = s.drop_in.expect("drop-in port bound");
    let (app, secret) = s.daemon_app().await;
    let tid = s.contoso.id.to_string();
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&s.ca_pem).unwrap())
        .proxy(reqwest::Proxy::https(format!("http://{proxy}")).unwrap())
        .build()
        .unwrap();

    // Discovery names the Microsoft host the client used.
    let doc: Value = client
        .get(format!("https://login.microsoftonline.com/{tid}/v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["token_endpoint"], format!("https://login.microsoftonline.com/{tid}/oauth2/v2.0/token"));
    assert_eq!(
        doc["issuer"],
        format!("https://login.microsoftonline.com/{tid}/v2.0"),
        "the real issuer, byte for byte"
    );

    // The seed page's request, unchanged.
    let r = client
        .post(format!("https://login.microsoftonline.com/{tid}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &app.app_id.to_string()),
            ("client_secret", &secret),
            ("scope", "https://securitycenter.onmicrosoft.com/windowsatpservice/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let claims = s
        .verify(
            body["access_token"].as_str().unwrap(),
            "https://securitycenter.onmicrosoft.com/windowsatpservice",
            &format!("https://sts.windows.net/{tid}/"),
        )
        .await;
    assert_eq!(claims["roles"], serde_json::json!(["Alert.Read.All"]));

    // Hosts Palisade does not serve are refused, not forwarded.
    let err = client.get("https://pypi.org/simple/").send().await.unwrap_err();
    assert!(err.is_connect() || err.to_string().contains("502"), "{err}");

    // Plain HTTP to the proxy port gets an explanation.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = tokio::net::TcpStream::connect(proxy).await.unwrap();
    raw.write_all(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n").await.unwrap();
    let mut reply = String::new();
    raw.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 405") && reply.contains("CONNECT"), "{reply}");
    s.stop().await;
}
