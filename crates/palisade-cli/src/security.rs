//! `palisade group`, `palisade rbac` and `palisade seed`: Entra security groups, the tenant's
//! Defender RBAC (roles, device groups, turning RBAC on) and a sample fleet, through the operator
//! endpoints. RBAC edits read the tenant's configuration, change it and write it back whole.

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use palisade_server::Config;
use serde_json::{Value, json};

use crate::admin::{Client, TenantArg, tid};
use crate::output::Out;

#[derive(Subcommand)]
pub enum GroupCmd {
    /// Create a security group.
    Create {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List the tenant's groups with their members.
    List {
        #[command(flatten)]
        t: TenantArg,
    },
    /// Add a user (UPN or object id) to a group (name or id).
    AddMember {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        group: String,
        #[arg(long)]
        user: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        group: String,
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
pub enum RbacCmd {
    /// Show roles, device groups and whether RBAC is on.
    Show {
        #[command(flatten)]
        t: TenantArg,
    },
    /// Turn RBAC on (cannot be undone): users then need a role, and see only their device groups.
    Enable {
        #[command(flatten)]
        t: TenantArg,
    },
    /// Add a role granting portal permissions to groups.
    #[command(name = "role")]
    Role {
        #[command(subcommand)]
        cmd: RoleCmd,
    },
    /// Manage device groups.
    #[command(name = "device-group")]
    DeviceGroup {
        #[command(subcommand)]
        cmd: DeviceGroupCmd,
    },
}

#[derive(Subcommand)]
pub enum RoleCmd {
    /// Add a role. Permissions: ViewData, AlertsInvestigation, ActiveRemediationActions,
    /// ManageSecuritySettings, LiveResponseBasic, LiveResponseAdvanced.
    Add {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        name: String,
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        /// Group (name or id) the role is assigned to (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Remove a role.
    Remove {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum DeviceGroupCmd {
    /// Add a device group; devices matching all given rules (any value of each) join it.
    Add {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        name: String,
        /// 1 is the highest; default: below every existing group.
        #[arg(long)]
        rank: Option<u32>,
        #[arg(long, default_value = "FullRemediation")]
        remediation_level: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long = "name-prefix")]
        name_prefixes: Vec<String>,
        #[arg(long = "domain")]
        domains: Vec<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long = "os")]
        os_platforms: Vec<String>,
        /// Group (name or id) whose members see these devices (repeatable; none: everyone).
        #[arg(long = "user-group")]
        user_groups: Vec<String>,
    },
    /// Grant more user groups access to a device group (id 0: "Ungrouped devices (default)").
    Update {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        id: i64,
        #[arg(long = "user-group", required = true)]
        user_groups: Vec<String>,
    },
    /// Remove a device group (its devices move to the next matching group).
    Remove {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        id: i64,
    },
}

const PERMISSIONS: &[&str] = &[
    "ViewData",
    "AlertsInvestigation",
    "ActiveRemediationActions",
    "ManageSecuritySettings",
    "LiveResponseBasic",
    "LiveResponseAdvanced",
];

async fn groups(c: &Client, tenant: &str) -> Result<Vec<Value>> {
    let r =
        c.call("organizations", reqwest::Method::GET, &format!("/palisade/v1/tenants/{tenant}/groups"), None).await?;
    Ok(r["value"].as_array().cloned().unwrap_or_default())
}

async fn group_id(c: &Client, tenant: &str, name_or_id: &str) -> Result<String> {
    groups(c, tenant)
        .await?
        .iter()
        .find(|g| g["id"].as_str() == Some(name_or_id) || g["displayName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name_or_id)))
        .and_then(|g| g["id"].as_str().map(str::to_string))
        .ok_or_else(|| anyhow!("no group '{name_or_id}' in tenant {tenant}; create it with: palisade group create --name \"{name_or_id}\""))
}

async fn group_ids(c: &Client, tenant: &str, names: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for n in names {
        out.push(group_id(c, tenant, n).await?);
    }
    Ok(out)
}

pub async fn group(cfg: &Config, cmd: &GroupCmd, out: &Out) -> Result<()> {
    let t = match cmd {
        GroupCmd::Create { t, .. }
        | GroupCmd::List { t }
        | GroupCmd::AddMember { t, .. }
        | GroupCmd::RemoveMember { t, .. } => t,
    };
    let c = Client::new(cfg, &t.conn)?;
    let tenant = tid(&c.tenant(t.tenant.as_deref()).await?);
    match cmd {
        GroupCmd::Create { name, description, .. } => {
            let g = c
                .call(
                    "organizations",
                    reqwest::Method::POST,
                    &format!("/palisade/v1/tenants/{tenant}/groups"),
                    Some(json!({"displayName": name, "description": description})),
                )
                .await?;
            out.emit(&g, || format!("Group '{}' created: {}", name, g["id"].as_str().unwrap_or_default()));
        }
        GroupCmd::List { .. } => {
            let gs = groups(&c, &tenant).await?;
            out.emit(&json!(gs), || {
                gs.iter()
                    .map(|g| {
                        format!(
                            "{}  {}  ({} members)",
                            g["id"].as_str().unwrap_or_default(),
                            g["displayName"].as_str().unwrap_or_default(),
                            g["members"].as_array().map_or(0, Vec::len)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        GroupCmd::AddMember { group, user, .. } | GroupCmd::RemoveMember { group, user, .. } => {
            let remove = matches!(cmd, GroupCmd::RemoveMember { .. });
            let gid = group_id(&c, &tenant, group).await?;
            let g = c
                .call(
                    "organizations",
                    reqwest::Method::POST,
                    &format!("/palisade/v1/tenants/{tenant}/groups/{gid}/members"),
                    Some(json!({"user": user, "remove": remove})),
                )
                .await?;
            out.emit(&g, || {
                format!("{} {} group '{}'.", user, if remove { "removed from" } else { "added to" }, group)
            });
        }
    }
    Ok(())
}

fn permission(p: &str) -> Result<&'static str> {
    let squashed: String = p.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    PERMISSIONS
        .iter()
        .find(|x| x.eq_ignore_ascii_case(&squashed))
        .copied()
        .ok_or_else(|| anyhow!("unknown permission '{p}'; one of {}", PERMISSIONS.join(", ")))
}

pub async fn rbac(cfg: &Config, cmd: &RbacCmd, out: &Out) -> Result<()> {
    let t = match cmd {
        RbacCmd::Show { t } | RbacCmd::Enable { t } => t,
        RbacCmd::Role { cmd: RoleCmd::Add { t, .. } | RoleCmd::Remove { t, .. } } => t,
        RbacCmd::DeviceGroup {
            cmd: DeviceGroupCmd::Add { t, .. } | DeviceGroupCmd::Update { t, .. } | DeviceGroupCmd::Remove { t, .. },
        } => t,
    };
    let c = Client::new(cfg, &t.conn)?;
    let tenant = tid(&c.tenant(t.tenant.as_deref()).await?);
    let path = format!("/palisade/v1/tenants/{tenant}/rbac");
    let mut config = c.call("organizations", reqwest::Method::GET, &path, None).await?;
    match cmd {
        RbacCmd::Show { .. } => {
            out.emit(&config, || serde_json::to_string_pretty(&config).unwrap_or_default());
            return Ok(());
        }
        RbacCmd::Enable { .. } => config["enabled"] = json!(true),
        RbacCmd::Role { cmd: RoleCmd::Add { name, permissions, groups, .. } } => {
            let perms = permissions.iter().map(|p| permission(p)).collect::<Result<Vec<_>>>()?;
            let gids = group_ids(&c, &tenant, groups).await?;
            let roles = config["roles"].as_array_mut().ok_or_else(|| anyhow!("unexpected configuration shape"))?;
            let id = roles.iter().filter_map(|r| r["id"].as_i64()).max().unwrap_or(0) + 1;
            roles.push(
                json!({"id": id, "name": name, "description": null, "permissions": perms, "assignedGroups": gids}),
            );
        }
        RbacCmd::Role { cmd: RoleCmd::Remove { name, .. } } => {
            let roles = config["roles"].as_array_mut().ok_or_else(|| anyhow!("unexpected configuration shape"))?;
            let before = roles.len();
            roles.retain(|r| !r["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
            if roles.len() == before {
                bail!("no role named '{name}'");
            }
        }
        RbacCmd::DeviceGroup {
            cmd:
                DeviceGroupCmd::Add {
                    name,
                    rank,
                    remediation_level,
                    description,
                    name_prefixes,
                    domains,
                    tags,
                    os_platforms,
                    user_groups,
                    ..
                },
        } => {
            let gids = group_ids(&c, &tenant, user_groups).await?;
            let list =
                config["deviceGroups"].as_array_mut().ok_or_else(|| anyhow!("unexpected configuration shape"))?;
            let id = list.iter().filter_map(|g| g["id"].as_i64()).max().unwrap_or(0) + 1;
            let rank =
                rank.unwrap_or_else(|| list.iter().filter_map(|g| g["rank"].as_u64()).max().unwrap_or(0) as u32 + 1);
            list.push(json!({
                "id": id, "name": name, "description": description, "remediationLevel": remediation_level, "rank": rank,
                "rules": {"namePrefixes": name_prefixes, "domains": domains, "tags": tags, "osPlatforms": os_platforms},
                "userGroups": gids,
            }));
        }
        RbacCmd::DeviceGroup { cmd: DeviceGroupCmd::Update { id, user_groups, .. } } => {
            let gids = group_ids(&c, &tenant, user_groups).await?;
            let target = if *id == 0 {
                &mut config["ungroupedUserGroups"]
            } else {
                let list =
                    config["deviceGroups"].as_array_mut().ok_or_else(|| anyhow!("unexpected configuration shape"))?;
                let g = list
                    .iter_mut()
                    .find(|g| g["id"].as_i64() == Some(*id))
                    .ok_or_else(|| anyhow!("no device group {id}"))?;
                &mut g["userGroups"]
            };
            let arr = target.as_array_mut().ok_or_else(|| anyhow!("unexpected configuration shape"))?;
            for g in gids {
                if !arr.iter().any(|x| x.as_str() == Some(g.as_str())) {
                    arr.push(json!(g));
                }
            }
        }
        RbacCmd::DeviceGroup { cmd: DeviceGroupCmd::Remove { id, .. } } => {
            let list =
                config["deviceGroups"].as_array_mut().ok_or_else(|| anyhow!("unexpected configuration shape"))?;
            let before = list.len();
            list.retain(|g| g["id"].as_i64() != Some(*id));
            if list.len() == before {
                bail!("no device group {id}");
            }
        }
    }
    let r = c.call("organizations", reqwest::Method::PUT, &path, Some(config)).await?;
    out.emit(&r, || format!("RBAC configuration saved ({} devices changed group).", r["machinesMoved"]));
    Ok(())
}

pub async fn seed(
    cfg: &Config,
    t: &TenantArg,
    machines: usize,
    alerts: usize,
    seed: u64,
    days: u32,
    out: &Out,
) -> Result<()> {
    let c = Client::new(cfg, &t.conn)?;
    let tenant = tid(&c.tenant(t.tenant.as_deref()).await?);
    let r = c
        .call(
            "organizations",
            reqwest::Method::POST,
            &format!("/palisade/v1/tenants/{tenant}/fixtures"),
            Some(json!({"machines": machines, "alerts": alerts, "seed": seed, "days": days})),
        )
        .await?;
    out.emit(&r, || {
        format!(
            "Loaded {} machines, {} alerts in {} incidents into tenant {tenant}.",
            r["machines"], r["alerts"], r["incidents"]
        )
    });
    Ok(())
}
