//! What ingested `DeviceInfo` rows do to the Defender API's machines: a device that reports is
//! onboarded (or updated), so `/api/machines` and the hunting tables describe the same fleet.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, TimestampNanosecondType};
use palisade_defender::model::{DeviceState, Machine, MachineRecord};
use time::OffsetDateTime;

use crate::ingest::IngestError;
use crate::schema::Table;

/// The latest `DeviceInfo` row of one device in a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceReport {
    pub id: String,
    pub name: String,
    pub at: OffsetDateTime,
    pub platform: Option<String>,
    pub os_version: Option<String>,
    pub os_build: Option<i64>,
    pub architecture: Option<String>,
    pub client_version: Option<String>,
    pub public_ip: Option<String>,
    pub aad_joined: Option<bool>,
    pub aad_device_id: Option<String>,
    pub onboarding_status: Option<String>,
    pub exposure_level: Option<String>,
    pub asset_value: Option<String>,
    pub manual_tags: Option<Vec<String>>,
    pub excluded: Option<bool>,
    pub exclusion_reason: Option<String>,
}

/// The API's machine ids are 40 lowercase hex digits; a row naming another shape cannot become a
/// machine the API could serve, so the whole request is refused.
fn valid_device_id(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads a `DeviceInfo` batch (already checked against the schema) into one report per device,
/// the latest row winning, in order of first appearance.
pub fn reports(batch: &RecordBatch) -> Result<Vec<DeviceReport>, IngestError> {
    let t = Table::DeviceInfo;
    let col = |name: &str| batch.column(t.column(name).expect("DeviceInfo column").0);
    let string = |name: &str, row: usize| {
        let c = col(name);
        let c = c.as_string::<i32>();
        (!c.is_null(row)).then(|| c.value(row).to_string())
    };
    let times = col("Timestamp");
    let times = times.as_primitive::<TimestampNanosecondType>();
    let builds = col("OSBuild");
    let builds = builds.as_primitive::<Int64Type>();
    let boolean = |name: &str, row: usize| {
        let c = col(name);
        let c = c.as_boolean();
        (!c.is_null(row)).then(|| c.value(row))
    };
    let mut out: Vec<DeviceReport> = vec![];
    let mut index = std::collections::HashMap::new();
    for row in 0..batch.num_rows() {
        let line = row + 1;
        let err = |column: &str, message: &str| IngestError::Value {
            row: line,
            column: column.into(),
            message: message.into(),
        };
        let id = string("DeviceId", row).ok_or_else(|| err("DeviceId", "required: the device this row describes"))?;
        if !valid_device_id(&id) {
            return Err(err("DeviceId", "a device id is 40 lowercase hexadecimal digits"));
        }
        let name = string("DeviceName", row)
            .ok_or_else(|| err("DeviceName", "required: the device's fully qualified name"))?;
        if times.is_null(row) {
            return Err(err("Timestamp", "required"));
        }
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(times.value(row)))
            .map_err(|_| err("Timestamp", "out of range"))?;
        let manual_tags = match string("DeviceManualTags", row) {
            None => None,
            Some(s) => Some(
                serde_json::from_str::<Vec<String>>(&s)
                    .map_err(|_| err("DeviceManualTags", "expected a JSON array of strings, e.g. [\"Finance\"]"))?,
            ),
        };
        let report = DeviceReport {
            id: id.clone(),
            name,
            at,
            platform: string("OSPlatform", row),
            os_version: string("OSVersion", row),
            os_build: (!builds.is_null(row)).then(|| builds.value(row)),
            architecture: string("OSArchitecture", row),
            client_version: string("ClientVersion", row),
            public_ip: string("PublicIP", row),
            aad_joined: boolean("IsAzureADJoined", row),
            aad_device_id: string("AadDeviceId", row),
            onboarding_status: string("OnboardingStatus", row),
            exposure_level: string("ExposureLevel", row),
            asset_value: string("AssetValue", row),
            manual_tags,
            excluded: boolean("IsExcluded", row),
            exclusion_reason: string("ExclusionReason", row),
        };
        match index.get(&id) {
            Some(&i) => {
                let prev: &mut DeviceReport = &mut out[i];
                if report.at >= prev.at {
                    *prev = report;
                }
            }
            None => {
                index.insert(id, out.len());
                out.push(report);
            }
        }
    }
    Ok(out)
}

impl DeviceReport {
    /// The machine after this report: a new one onboarded, or `existing` updated. A report older
    /// than what the machine already shows only widens `firstSeen`: late rows must not roll a
    /// device back. Device groups are the caller's to assign (they depend on the tenant's RBAC).
    pub fn apply(&self, existing: Option<MachineRecord>) -> MachineRecord {
        let mut rec = existing.unwrap_or_else(|| MachineRecord {
            machine: Machine {
                id: self.id.clone(),
                merged_into_machine_id: None,
                is_potential_duplication: false,
                is_excluded: false,
                exclusion_reason: None,
                computer_dns_name: self.name.clone(),
                first_seen: self.at,
                last_seen: self.at,
                os_platform: "Unknown".into(),
                os_version: None,
                os_processor: "x64".into(),
                version: None,
                last_ip_address: None,
                last_external_ip_address: None,
                agent_version: None,
                os_build: None,
                health_status: "Active".into(),
                device_value: Some("Normal".into()),
                rbac_group_id: 0,
                rbac_group_name: None,
                risk_score: Some("None".into()),
                exposure_level: Some("None".into()),
                is_aad_joined: false,
                aad_device_id: None,
                machine_tags: vec![],
                defender_av_status: Some("Updated".into()),
                onboarding_status: "Onboarded".into(),
                os_architecture: None,
                managed_by: None,
                managed_by_status: None,
                ip_addresses: vec![],
                vm_metadata: None,
            },
            state: DeviceState::default(),
        });
        let m = &mut rec.machine;
        m.first_seen = m.first_seen.min(self.at);
        if self.at < m.last_seen {
            return rec;
        }
        m.last_seen = self.at;
        m.computer_dns_name = self.name.clone();
        let set = |field: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                field.clone_from(v);
            }
        };
        if let Some(p) = &self.platform {
            m.os_platform = p.clone();
        }
        set(&mut m.os_version, &self.os_version);
        if self.os_build.is_some() {
            m.os_build = self.os_build;
        }
        if let Some(a) = &self.architecture {
            m.os_architecture = Some(a.clone());
            m.os_processor = if a.contains("32") { "x86".into() } else { "x64".into() };
        }
        set(&mut m.agent_version, &self.client_version);
        set(&mut m.last_external_ip_address, &self.public_ip);
        if let Some(j) = self.aad_joined {
            m.is_aad_joined = j;
        }
        set(&mut m.aad_device_id, &self.aad_device_id);
        if let Some(s) = &self.onboarding_status {
            m.onboarding_status = s.clone();
        }
        set(&mut m.exposure_level, &self.exposure_level);
        set(&mut m.device_value, &self.asset_value);
        if let Some(tags) = &self.manual_tags {
            m.machine_tags = tags.clone();
        }
        if let Some(x) = self.excluded {
            m.is_excluded = x;
            m.exclusion_reason = if x { self.exclusion_reason.clone() } else { None };
        }
        m.health_status = "Active".into();
        rec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ndjson;

    const ID: &str = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";

    #[test]
    fn the_latest_row_per_device_onboards_then_updates_a_machine() {
        let body = format!(
            "{{\"Timestamp\":\"2026-03-01T10:00:00Z\",\"DeviceId\":\"{ID}\",\"DeviceName\":\"pc1.contoso.com\",\"OSPlatform\":\"Windows11\",\"OSBuild\":22631,\"DeviceManualTags\":\"[\\\"VIP\\\"]\"}}\n\
             {{\"Timestamp\":\"2026-03-01T09:00:00Z\",\"DeviceId\":\"{ID}\",\"DeviceName\":\"old-name\",\"OSPlatform\":\"Windows10\"}}\n"
        );
        let batch = ndjson(Table::DeviceInfo, body.as_bytes()).unwrap();
        let reports = reports(&batch).unwrap();
        assert_eq!(reports.len(), 1);
        let rec = reports[0].apply(None);
        assert_eq!(rec.machine.id, ID);
        assert_eq!(rec.machine.computer_dns_name, "pc1.contoso.com");
        assert_eq!(rec.machine.os_platform, "Windows11");
        assert_eq!(rec.machine.os_build, Some(22631));
        assert_eq!(rec.machine.machine_tags, vec!["VIP".to_string()]);

        // An older report does not roll the device back, but widens firstSeen.
        let mut older = reports[0].clone();
        older.at -= time::Duration::days(1);
        older.name = "stale".into();
        let again = older.apply(Some(rec.clone()));
        assert_eq!(again.machine.computer_dns_name, "pc1.contoso.com");
        assert_eq!(again.machine.first_seen, older.at);
    }

    #[test]
    fn a_bad_device_id_names_its_row() {
        let body = format!(
            "{{\"Timestamp\":\"2026-03-01T10:00:00Z\",\"DeviceId\":\"{ID}\",\"DeviceName\":\"a\"}}\n\
             {{\"Timestamp\":\"2026-03-01T10:00:00Z\",\"DeviceId\":\"not-hex\",\"DeviceName\":\"b\"}}\n"
        );
        let batch = ndjson(Table::DeviceInfo, body.as_bytes()).unwrap();
        let e = reports(&batch).unwrap_err();
        assert_eq!(e.to_string(), "row 2, column 'DeviceId': a device id is 40 lowercase hexadecimal digits");
    }
}
