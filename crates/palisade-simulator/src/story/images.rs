//! The binaries storylines run, and attacker files.
//!
//! Windows binaries come from [`crate::catalog`] when it lists them, so the `powershell.exe` of a
//! storyline has the hashes benign rows and the API's file profiles give it on that device's OS
//! build. The few it does not list (tools only intrusions use) get hashes by the same rule — the
//! fixtures' catalogue seed, the file name and the build variant. Attacker files get random
//! hashes from the storyline's generator and keep them wherever they are copied.

use std::sync::{Arc, OnceLock};

use super::Rng;
use crate::catalog::Bin as Cat;
use crate::event::{Image, VersionInfo};

/// A binary the storylines start or name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bin {
    System,
    Services,
    Svchost,
    Lsass,
    Explorer,
    Outlook,
    Winword,
    Msedge,
    PowerShell,
    Cmd,
    Rundll32,
    Certutil,
    Reg,
    Vssadmin,
    Wmic,
    WmiPrvSe,
    PsExec,
    Psexesvc,
}

/// A binary the catalogue does not list: (name, folder, size, product, version, description,
/// signer type). Windows files have one hash per OS build variant, Sysinternals tools one.
struct Own {
    name: &'static str,
    dir: &'static str,
    size: i64,
    product: &'static str,
    version: &'static str,
    description: &'static str,
    os: bool,
}

const SYS32: &str = r"C:\Windows\System32";
const WIN: &str = "Microsoft® Windows® Operating System";

impl Bin {
    fn catalogued(self) -> Option<Cat> {
        Some(match self {
            Bin::Services => Cat::Services,
            Bin::Svchost => Cat::Svchost,
            Bin::Lsass => Cat::Lsass,
            Bin::Explorer => Cat::Explorer,
            Bin::Outlook => Cat::Outlook,
            Bin::Winword => Cat::Winword,
            Bin::Msedge => Cat::Msedge,
            Bin::PowerShell => Cat::PowerShell,
            Bin::Cmd => Cat::Cmd,
            Bin::Rundll32 => Cat::Rundll32,
            Bin::Reg => Cat::Reg,
            Bin::WmiPrvSe => Cat::WmiPrvSE,
            _ => return None,
        })
    }

    fn own(self) -> Own {
        let os = |name, dir, size, description| Own {
            name,
            dir,
            size,
            product: WIN,
            version: "10.0.22621.4391",
            description,
            os: true,
        };
        let sysinternals = |name, dir, size, description| Own {
            name,
            dir,
            size,
            product: "Sysinternals PsExec",
            version: "2.43",
            description,
            os: false,
        };
        match self {
            Bin::System => os("ntoskrnl.exe", SYS32, 12_013_936, "NT Kernel & System"),
            Bin::Certutil => os("certutil.exe", SYS32, 1_567_744, "CertUtil.exe"),
            Bin::Vssadmin => {
                os("vssadmin.exe", SYS32, 139_264, "Command Line Interface for Microsoft® Volume Shadow Copy Service")
            }
            Bin::Wmic => os("WMIC.exe", r"C:\Windows\System32\wbem", 571_392, "WMI Commandline Utility"),
            // Staged by the intruder; the Sysinternals build is the same file everywhere.
            Bin::PsExec => sysinternals("PsExec64.exe", r"C:\ProgramData", 833_472, "Execute processes remotely"),
            Bin::Psexesvc => sysinternals("PSEXESVC.exe", r"C:\Windows", 195_960, "PsExec Service"),
            catalogued => unreachable!("{catalogued:?} comes from the catalogue"),
        }
    }
}

/// The image of `b` on a device carrying OS build `variant`.
pub(super) fn image(b: Bin, variant: u8) -> Arc<Image> {
    if let Some(c) = b.catalogued() {
        return c.image(variant).clone();
    }
    const OWN: [Bin; 6] = [Bin::System, Bin::Certutil, Bin::Vssadmin, Bin::Wmic, Bin::PsExec, Bin::Psexesvc];
    /// Windows builds in the estate (the catalogue's and the fixtures' variant count).
    const BUILDS: u8 = 7;
    static ALL: OnceLock<Vec<Arc<Image>>> = OnceLock::new();
    let all = ALL.get_or_init(|| OWN.iter().flat_map(|b| (0..BUILDS).map(|v| Arc::new(build(b.own(), v)))).collect());
    let i = OWN.iter().position(|x| *x == b).expect("every binary is catalogued or our own");
    let v = if b.own().os { variant % BUILDS } else { 0 };
    all[i * usize::from(BUILDS) + usize::from(v)].clone()
}

/// Seed of the fixtures' global file catalogue (hashes of a name and build are the same in every
/// tenant and run).
const CATALOGUE_SEED: u64 = 0x5eed_ca7a_1095_e000;

fn build(s: Own, v: u8) -> Image {
    let key = s.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, c| (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3));
    let mut rng = Rng::new(CATALOGUE_SEED ^ key, u64::from(if s.os { v } else { 0 }));
    let (sha1, sha256, md5) = (rng.hex_string(20), rng.hex_string(32), rng.hex_string(16));
    Image {
        file_name: s.name.into(),
        folder_path: format!(r"{}\{}", s.dir, s.name).into(),
        sha1: sha1.into(),
        sha256: sha256.into(),
        md5: md5.into(),
        size: s.size,
        version: Some(Arc::new(VersionInfo {
            company: "Microsoft Corporation",
            product: s.product,
            version: s.version,
            internal_name: s.name,
            original_name: s.name,
            description: s.description,
        })),
        signer_type: Some(if s.os { "OsVendor" } else { "ThirdParty" }),
        signature_status: Some("Valid"),
    }
}

/// An attacker file: unsigned, no version resource, fresh hashes.
pub(super) fn dropped(rng: &mut Rng, folder: &str, name: &str, size: i64) -> Arc<Image> {
    Arc::new(Image {
        file_name: name.into(),
        folder_path: format!(r"{folder}\{name}").into(),
        sha1: rng.hex_string(20).into(),
        sha256: rng.hex_string(32).into(),
        md5: rng.hex_string(16).into(),
        size,
        version: None,
        signer_type: None,
        signature_status: Some("Unsigned"),
    })
}

/// The same content at another path (a copy keeps its hashes).
pub(super) fn copied(img: &Image, folder: &str, name: &str) -> Arc<Image> {
    Arc::new(Image { file_name: name.into(), folder_path: format!(r"{folder}\{name}").into(), ..img.clone() })
}

/// The folder of a full path (`FolderPath` holds the file name; evidence `filePath` does not).
pub(super) fn parent_dir(path: &str) -> &str {
    path.rsplit_once('\\').map_or(path, |(d, _)| d)
}
