//! Importing CB-Tumblebug's real asset files (`/work/shared/data/tumblebug-assets`). The
//! expected numbers were counted in the files themselves (see each test's comments).

use tb_catalog::{Catalog, Image};

fn asset(name: &str) -> String {
    let path = format!("{}/../../../shared/data/tumblebug-assets/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn cloudinfo_into_an_empty_catalog() {
    let mut c = Catalog::empty();
    let report = c.import_cloudinfo_yaml(&asset("cloudinfo.yaml")).unwrap();
    // 11 providers with 32+33+48+43+13+1+3+4+1+1+17 uncommented regions.
    assert_eq!((report.rows, report.added, report.updated, report.skipped), (196, 196, 0, 0));
    assert!(report.issues.is_empty());
    assert_eq!(c.providers().len(), 11);
    assert_eq!(c.regions_of("aws").len(), 33);
    assert_eq!(c.regions_of("azure").len(), 48);
    assert_eq!(c.regions_of("tencent").len(), 17);
    // Azure's regions without availability zones are written `zone: []`.
    let azure_without_zones = c.regions_of("azure").iter().filter(|r| r.zones.is_empty()).count();
    assert_eq!(azure_without_zones, 10);
    let seoul = c.region("alibaba", "ap-northeast-2").unwrap();
    assert_eq!(seoul.display, "South Korea (Seoul)");
    assert_eq!((seoul.latitude, seoul.longitude), (37.36, 126.78));
    assert_eq!(seoul.zones, ["ap-northeast-2a", "ap-northeast-2b"]);
    // Commented-out regions are not imported.
    assert!(c.region("aws", "me-south-1").is_none());
    assert_eq!(c.provider("openstack-ex01").unwrap().display, "Example of OpenStack-based CSP");
    assert_eq!(c.region("kt", "kr1").unwrap().zones, ["DX-M1"]);
}

#[test]
fn cloudinfo_over_the_builtin_catalog() {
    let mut c = Catalog::builtin();
    let specs_before = c.specs().len();
    let report = c.import_cloudinfo_yaml(&asset("cloudinfo.yaml")).unwrap();
    // New: alibaba ap-southeast-8, cn-wuhan-lr, cn-zhongwei, eu-west-2, na-south-1; azure
    // austriaeast, belgiumcentral, denmarkeast; kt KR1; openstack-ex01 RegionOne.
    assert_eq!((report.rows, report.added, report.updated, report.skipped), (196, 10, 186, 0));
    assert_eq!(c.providers().len(), 11);
    // The file's values replace the built-in ones; the region's specs stay.
    let virginia = c.region("aws", "us-east-1").unwrap();
    assert_eq!(virginia.display, "US East (N. Virginia)");
    assert_eq!((virginia.latitude, virginia.longitude), (38.13, -78.45));
    assert_eq!(c.specs().len(), specs_before);
    assert!(c.spec("aws", "us-east-1", "t3.small").is_some());
    assert!(c.region("azure", "denmarkeast").is_some());
    // Regions the file does not list are kept.
    assert!(c.region("tencent", "ap-taipei").is_some());
}

#[test]
fn cloudspec_overrides_the_builtin_catalog() {
    let mut c = Catalog::builtin();
    let untouched = c.spec("aws", "us-east-1", "t3.small").unwrap().clone();
    let report = c.import_cloudspec_csv(&asset("cloudspec.csv")).unwrap();
    // 114 NCP rows (one region each), 28 NHN rows for region `all` (19 CPU specs offered in
    // the 5 NHN regions, 9 GPU specs in 2), 31 KT rows for specs the catalog lacks.
    assert_eq!(report.rows, 173);
    assert_eq!(report.updated, 114 + 19 * 5 + 9 * 2);
    assert_eq!((report.added, report.skipped), (0, 31));
    assert_eq!(report.issues.len(), 31);
    // The KT rows are lines 144..=174 of the (CRLF) file.
    let lines: Vec<usize> = report.issues.iter().map(|i| i.line).collect();
    assert_eq!(lines, (144..=174).collect::<Vec<_>>());
    assert!(report.issues.iter().all(|i| i.skipped));
    assert_eq!(
        report.issues[0].to_string(),
        "line 144: skipped: spec kt/kr1/1x1.itl is not in the catalog, so its size is unknown"
    );

    // `NCP,KR,s2-g3,0.0848,USD` and `NCP,SGN,s2-g3,0.0892,USD`.
    assert_eq!(c.spec("ncp", "KR", "s2-g3").unwrap().cost_per_hour, 0.0848);
    assert_eq!(c.spec("ncp", "SGN", "s2-g3").unwrap().cost_per_hour, 0.0892);
    // `NHN,all,t2.c1m1,24,KRW`: converted to USD, in every NHN region.
    for region in ["KR1", "KR2", "KR3", "JP1", "US1"] {
        let price = c.spec("nhn", region, "t2.c1m1").unwrap().cost_per_hour;
        assert!((price - 24.0 / 1400.0).abs() < 1e-12, "{region}: {price}");
    }
    // `NHN,all,g4.c92m1800,...,gpu,NVIDIA A100,8,320`: 320 GB over 8 accelerators.
    let gpu = c.spec("nhn", "KR1", "g4.c92m1800").unwrap().gpu.clone().unwrap();
    assert_eq!((gpu.model.as_str(), gpu.count, gpu.memory_gib), ("NVIDIA A100", 8, 40.0));
    // Shapes are not in the file and stay; specs not in the file are untouched.
    assert_eq!(c.spec("nhn", "KR1", "g4.c92m1800").unwrap().vcpu, 92);
    assert_eq!(c.spec("aws", "us-east-1", "t3.small"), Some(&untouched));
    // evaluationScore01 is -1 (not measured) everywhere in the file.
    assert_eq!(c.spec("ncp", "KR", "s2-g3").unwrap().evaluation_score01, 0.0);
}

#[test]
fn cloudspec_into_an_empty_catalog_skips_everything() {
    let mut c = Catalog::empty();
    let report = c.import_cloudspec_csv(&asset("cloudspec.csv")).unwrap();
    assert_eq!((report.rows, report.updated, report.skipped), (173, 0, 173));
    assert_eq!(report.issues[0].line, 2);
    assert!(c.specs().is_empty());
}

#[test]
fn cloudimage_adds_vm_images_and_skips_kubernetes_node_images() {
    let mut c = Catalog::builtin();
    let images_before = c.images().len();
    let report = c.import_cloudimage_csv(&asset("cloudimage.csv")).unwrap();
    // 22 Azure VM images, then 30 `k8s` rows (AWS 15, GCP 3, Tencent 10, Alibaba 2).
    assert_eq!((report.rows, report.added, report.updated, report.skipped), (52, 22, 0, 30));
    let lines: Vec<usize> = report.issues.iter().map(|i| i.line).collect();
    assert_eq!(lines, (24..=53).collect::<Vec<_>>());
    assert!(report.issues[0].message.contains("Kubernetes"));
    assert_eq!(c.images().len(), images_before + 22);

    let arm = "Canonical:ubuntu-24_04-lts:server-arm64:24.04.202603120";
    let image: &Image = c.image("azure", "koreacentral", arm).unwrap();
    assert_eq!(image.region, "all");
    assert_eq!(image.os_type, "Ubuntu 24.04 (ARM64)");
    assert_eq!(image.os_architecture, "arm64");
    assert_eq!(image.description, "Server ARM64");
    let jammy = "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:22.04.202602250";
    assert_eq!(c.image("azure", "eastus", jammy).unwrap().os_architecture, "x86_64");
    assert!(c.images_in("azure", "eastus").iter().any(|i| i.name == jammy));
}

#[test]
fn cloudimage_needs_known_providers() {
    let mut c = Catalog::empty();
    let report = c.import_cloudimage_csv(&asset("cloudimage.csv")).unwrap();
    assert_eq!((report.added, report.skipped), (0, 52));
    assert_eq!(report.issues[0].message, "provider azure is not in the catalog");
}

#[test]
fn all_assets_in_sequence_keep_lookups_working() {
    let mut c = Catalog::builtin();
    c.import_cloudinfo_yaml(&asset("cloudinfo.yaml")).unwrap();
    c.import_cloudspec_csv(&asset("cloudspec.csv")).unwrap();
    c.import_cloudimage_csv(&asset("cloudimage.csv")).unwrap();
    let kt = c.region("kt", "KR1").unwrap();
    assert_eq!(kt.display, "Mok-dong - Seoul (South Korea)");
    // The KT region now exists, but its specs still cannot be: their sizes are unknown.
    let report = c.import_cloudspec_csv(&asset("cloudspec.csv")).unwrap();
    assert_eq!(report.skipped, 31);
    assert_eq!(c.spec_by_id("ncp+kr+s2-g3").unwrap().cost_per_hour, 0.0848);
}
