//! Telemetry ingestion end to end over HTTPS: `Palisade.Ingest.All` tokens, NDJSON and Arrow IPC
//! bodies, row-and-column errors that store nothing, DeviceInfo onboarding machines the API then
//! serves, tenant keying, and the operator route the CLI uses.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, TimestampNanosecondArray};
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use common::TestServer;
use palisade_directory::*;
use palisade_telemetry::{ScanRequest, Table};
use reqwest::StatusCode;
use serde_json::Value;

const DEVICE: &str = "4a1e5bc9d7e413ddd7902c2932e418702b84d0cc";

async fn post(s: &TestServer, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = s
        .http
        .post(format!("{}{path}", s.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn process_row(i: usize) -> String {
    format!(
        r#"{{"Timestamp":"2026-03-01T10:{:02}:00Z","DeviceId":"{DEVICE}","DeviceName":"pc1.contoso.com","ActionType":"ProcessCreated","FileName":"cmd.exe","ProcessId":{i},"ProcessCommandLine":"cmd.exe /c echo {i}"}}"#,
        i % 60
    )
}

async fn rows(s: &TestServer, tenant: &Tenant, table: Table) -> usize {
    let batches = s.telemetry.scan(tenant.id, table, &ScanRequest::default()).await.unwrap();
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[tokio::test]
async fn ingestion_stores_checks_every_row_and_onboards_devices() {
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let ingest = s.app_token(&t, &[("WindowsDefenderATP", "Palisade.Ingest.All")]).await;
    let reader = s
        .app_token(&t, &[("WindowsDefenderATP", "Machine.Read.All"), ("WindowsDefenderATP", "AdvancedQuery.Read.All")])
        .await;
    let path = "/api/palisade/ingest/DeviceProcessEvents";

    // Without the permission: Defender's 403, naming what is missing.
    let (st, b) = post(&s, path, &reader, "application/x-ndjson", process_row(1).into_bytes()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("Palisade.Ingest.All"), "{b}");

    // 1,000 NDJSON rows.
    let body: String = (0..1000).map(|i| process_row(i) + "\n").collect();
    let (st, b) = post(&s, path, &ingest, "application/x-ndjson", body.into_bytes()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["rowsStored"], 1000);
    assert_eq!(b["table"], "DeviceProcessEvents");
    assert_eq!(rows(&s, &t, Table::DeviceProcessEvents).await, 1000);

    // A bad row refuses the whole request, names row and column, and keeps what was stored.
    let mut bad: String = (0..10).map(|i| process_row(i) + "\n").collect();
    bad.push_str(&process_row(11).replace("\"ProcessId\":11", "\"ProcessId\":\"eleven\""));
    let (st, b) = post(&s, path, &ingest, "application/x-ndjson", bad.into_bytes()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"]["code"], "InvalidRequestBody");
    let msg = b["error"]["message"].as_str().unwrap();
    assert!(msg.contains("row 11, column 'ProcessId'"), "{msg}");
    assert_eq!(rows(&s, &t, Table::DeviceProcessEvents).await, 1000, "nothing of the refused request stored");

    // An Arrow IPC stream with a subset of the columns.
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new(
            "Timestamp",
            arrow::datatypes::DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, None),
            false,
        ),
        arrow::datatypes::Field::new("DeviceId", arrow::datatypes::DataType::Utf8, false),
        arrow::datatypes::Field::new("RemoteIP", arrow::datatypes::DataType::Utf8, false),
    ]));
    let n = 500;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(TimestampNanosecondArray::from((0..n).map(|i| 1_772_359_200_000_000_000 + i).collect::<Vec<i64>>())),
        Arc::new(StringArray::from(vec![DEVICE; n as usize])),
        Arc::new(StringArray::from((0..n).map(|i| format!("198.51.100.{}", i % 250)).collect::<Vec<_>>())),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    let mut ipc = vec![];
    {
        let mut w = StreamWriter::try_new(&mut ipc, &schema).unwrap();
        w.write(&batch).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    let (st, b) =
        post(&s, "/api/palisade/ingest/devicenetworkevents", &ingest, "application/vnd.apache.arrow.stream", ipc).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["rowsStored"], 1000);
    assert_eq!(rows(&s, &t, Table::DeviceNetworkEvents).await, 1000);

    // Unknown table, unsupported media type, garbage Arrow.
    let (st, b) = post(&s, "/api/palisade/ingest/NoSuchTable", &ingest, "application/x-ndjson", vec![]).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("ResourceNotFound")), "{b}");
    let (st, b) = post(&s, path, &ingest, "text/csv", b"a,b".to_vec()).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{b}");
    let (st, b) = post(&s, path, &ingest, "application/vnd.apache.arrow.stream", b"not arrow".to_vec()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");

    // DeviceInfo onboards a machine the API serves, then updates it.
    let info = |at: &str, build: i64| {
        format!(
            r#"{{"Timestamp":"{at}","DeviceId":"{DEVICE}","DeviceName":"pc1.contoso.com","OSPlatform":"Windows11","OSBuild":{build},"ClientVersion":"10.8760.26100.1","PublicIP":"203.0.113.7","DeviceManualTags":"[\"Finance\"]"}}"#
        )
    };
    let (st, b) = post(
        &s,
        "/api/palisade/ingest/DeviceInfo",
        &ingest,
        "application/x-ndjson",
        info("2026-03-01T10:00:00Z", 22631).into_bytes(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["machinesUpdated"], 1);
    let (st, m) = s.call(reqwest::Method::GET, &format!("/api/machines/{DEVICE}"), Some(&reader), None).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["computerDnsName"], "pc1.contoso.com");
    assert_eq!(m["osPlatform"], "Windows11");
    assert_eq!(m["osBuild"], 22631);
    assert_eq!(m["lastExternalIpAddress"], "203.0.113.7");
    assert_eq!(m["machineTags"], serde_json::json!(["Finance"]));
    let (st, _) = post(
        &s,
        "/api/palisade/ingest/DeviceInfo",
        &ingest,
        "application/x-ndjson",
        info("2026-03-02T10:00:00Z", 26100).into_bytes(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, m) = s.call(reqwest::Method::GET, &format!("/api/machines/{DEVICE}"), Some(&reader), None).await;
    assert_eq!(m["osBuild"], 26100);
    assert_eq!(m["lastSeen"].as_str().unwrap(), "2026-03-02T10:00:00Z");

    // Rows are keyed by the token's tenant: another tenant sees none of them.
    let other = s.tenant("Fabrikam").await;
    let other_ingest = s.app_token(&other, &[("WindowsDefenderATP", "Palisade.Ingest.All")]).await;
    let (st, _) = post(&s, path, &other_ingest, "application/x-ndjson", process_row(1).into_bytes()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(rows(&s, &other, Table::DeviceProcessEvents).await, 1);
    assert_eq!(rows(&s, &t, Table::DeviceProcessEvents).await, 1000);
    s.stop().await;
}

#[tokio::test]
async fn the_request_size_limit_is_enforced_with_advice() {
    let s = TestServer::start_with(|c| c.telemetry.max_request_mib = 1).await;
    let t = s.contoso.clone();
    let ingest = s.app_token(&t, &[("WindowsDefenderATP", "Palisade.Ingest.All")]).await;
    let body: String = (0..20_000).map(|i| process_row(i) + "\n").collect();
    assert!(body.len() > 1 << 20);
    let (st, b) =
        post(&s, "/api/palisade/ingest/DeviceProcessEvents", &ingest, "application/x-ndjson", body.into_bytes()).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("split it"), "{b}");
    assert_eq!(rows(&s, &t, Table::DeviceProcessEvents).await, 0);
    s.stop().await;
}
