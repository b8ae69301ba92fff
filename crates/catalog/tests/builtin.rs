//! The catalog shipped in `data/`: it parses, it is big enough, it is consistent, and it says
//! what the providers say.

use std::collections::HashSet;

use tb_catalog::{ALL_REGIONS, Catalog, Spec};

const PROVIDERS: [&str; 9] = ["aws", "azure", "gcp", "alibaba", "tencent", "ibm", "ncp", "nhn", "openstack"];

fn catalog() -> &'static Catalog {
    Catalog::builtin_shared()
}

fn spec(provider: &str, region: &str, name: &str) -> &'static Spec {
    catalog().spec(provider, region, name).unwrap_or_else(|| panic!("{provider}/{region}/{name} missing"))
}

#[test]
fn parses_cleanly_and_builtin_matches_try_builtin() {
    let parsed = Catalog::try_builtin().expect("built-in data parses");
    let builtin = Catalog::builtin();
    assert_eq!(parsed.specs(), builtin.specs());
    assert_eq!(parsed.regions(), builtin.regions());
    assert_eq!(parsed.images(), builtin.images());
    assert!(std::ptr::eq(Catalog::builtin_shared(), Catalog::builtin_shared()));
}

#[test]
fn has_exactly_the_nine_providers() {
    let names: Vec<&str> = catalog().providers().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, PROVIDERS);
    assert_eq!(catalog().provider("AWS").unwrap().display, "Amazon Web Services");
}

#[test]
fn region_and_spec_counts_meet_the_minimums() {
    // (provider, regions, distinct spec names)
    let minimums = [
        ("aws", 30, 100),
        ("azure", 35, 60),
        ("gcp", 35, 60),
        ("alibaba", 25, 30),
        ("tencent", 18, 30),
        ("ibm", 10, 20),
        ("ncp", 5, 20),
        ("nhn", 5, 20),
        ("openstack", 1, 5),
    ];
    for (provider, regions, names) in minimums {
        let got_regions = catalog().regions_of(provider).len();
        assert!(got_regions >= regions, "{provider}: {got_regions} regions");
        let got_names: HashSet<&str> =
            catalog().specs().iter().filter(|s| s.provider == provider).map(|s| s.name.as_str()).collect();
        assert!(got_names.len() >= names, "{provider}: {} specs", got_names.len());
        let images = catalog().images_in(provider, ALL_REGIONS);
        assert!(images.len() >= 4, "{provider}: {} images", images.len());
    }
    let total = catalog().specs().len();
    assert!((5_000..=20_000).contains(&total), "{total} specs");
}

#[test]
fn every_spec_and_image_belongs_to_a_known_region() {
    for s in catalog().specs() {
        assert!(catalog().region(&s.provider, &s.region).is_some(), "{}", s.id());
        assert!(s.vcpu > 0 && s.memory_gib > 0.0, "{}", s.id());
        assert!(s.architecture == "x86_64" || s.architecture == "arm64", "{}", s.id());
        if let Some(gpu) = &s.gpu {
            assert!(gpu.count > 0 && gpu.memory_gib > 0.0 && gpu.model.starts_with("NVIDIA"));
        }
        if s.provider == "openstack" {
            assert_eq!(s.cost_per_hour, -1.0, "{}", s.id());
        } else {
            assert!(s.cost_per_hour > 0.0, "{}", s.id());
        }
    }
    for i in catalog().images() {
        assert!(i.region == ALL_REGIONS || catalog().region(&i.provider, &i.region).is_some(), "{}", i.id());
        assert!(!i.os_type.is_empty() && !i.name.is_empty());
    }
}

#[test]
fn every_region_offers_specs_and_has_valid_coordinates() {
    for r in catalog().regions() {
        assert!((-90.0..=90.0).contains(&r.latitude), "{}/{}", r.provider, r.id);
        assert!((-180.0..=180.0).contains(&r.longitude), "{}/{}", r.provider, r.id);
        assert!(r.latitude != 0.0 || r.longitude != 0.0, "{}/{}", r.provider, r.id);
        assert!(!r.display.is_empty());
        assert!(catalog().specs_in(&r.provider, &r.id).len() >= 5, "{}/{} offers too few specs", r.provider, r.id);
    }
}

#[test]
fn zones_follow_each_providers_naming() {
    for r in catalog().regions() {
        let zones = &r.zones;
        let ok = match r.provider.as_str() {
            // Azure regions without availability zones have none; the others have 1, 2, 3.
            "azure" => zones.is_empty() || zones == &["1", "2", "3"],
            "aws" => !zones.is_empty() && zones.iter().all(|z| is_suffixed(z, &r.id, 1)),
            "gcp" | "tencent" | "ibm" => {
                !zones.is_empty()
                    && zones.iter().all(|z| z.starts_with(&format!("{}-", r.id)) && z.len() == r.id.len() + 2)
            }
            "alibaba" => {
                !zones.is_empty()
                    && zones.iter().all(|z| is_suffixed(z, &r.id, 1) || is_suffixed(z, &format!("{}-", r.id), 1))
            }
            _ => !zones.is_empty(),
        };
        assert!(ok, "{}/{}: {:?}", r.provider, r.id, zones);
    }
    let with_zones = catalog().regions_of("azure").iter().filter(|r| !r.zones.is_empty()).count();
    assert!(with_zones >= 30, "{with_zones} azure regions with zones");
    assert_eq!(catalog().region("azure", "westus").unwrap().zones.len(), 0);
    assert_eq!(
        catalog().region("gcp", "us-central1").unwrap().zones,
        ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]
    );
    assert_eq!(catalog().region("alibaba", "cn-hangzhou").unwrap().zones[2], "cn-hangzhou-h");
}

fn is_suffixed(zone: &str, prefix: &str, suffix_len: usize) -> bool {
    zone.len() == prefix.len() + suffix_len && zone.starts_with(prefix)
}

#[test]
fn known_shapes() {
    let t3 = spec("aws", "us-east-1", "t3.small");
    assert_eq!((t3.vcpu, t3.memory_gib, t3.architecture.as_str()), (2, 2.0, "x86_64"));
    let n2 = spec("gcp", "us-central1", "n2-standard-4");
    assert_eq!((n2.vcpu, n2.memory_gib), (4, 16.0));
    let graviton = spec("aws", "eu-west-1", "m7g.large");
    assert_eq!((graviton.vcpu, graviton.memory_gib, graviton.architecture.as_str()), (2, 8.0, "arm64"));
    let d2 = spec("azure", "koreacentral", "Standard_D2s_v5");
    assert_eq!((d2.vcpu, d2.memory_gib), (2, 8.0));
    let g4dn = spec("aws", "ap-northeast-2", "g4dn.12xlarge");
    let gpu = g4dn.gpu.as_ref().unwrap();
    assert_eq!((gpu.model.as_str(), gpu.count, gpu.memory_gib), ("NVIDIA T4", 4, 16.0));
    let a100 = spec("gcp", "us-central1", "a2-highgpu-8g");
    assert_eq!(a100.gpu.as_ref().unwrap().count, 8);
    assert_eq!(spec("ncp", "KR", "s2-g3").memory_gib, 8.0);
    assert_eq!(spec("nhn", "KR1", "m2.c4m8").vcpu, 4);
    assert_eq!(spec("openstack", "RegionOne", "m1.small").memory_gib, 2.0);
    assert!(spec("aws", "us-east-1", "t3.small").gpu.is_none());
}

#[test]
fn known_prices_and_regional_factors() {
    assert_eq!(spec("aws", "us-east-1", "t3.small").cost_per_hour, 0.0208);
    assert_eq!(spec("aws", "us-east-1", "m5.large").cost_per_hour, 0.096);
    // Seoul lists at 1.23 x Virginia.
    assert_eq!(spec("aws", "ap-northeast-2", "t3.small").cost_per_hour, 0.025584);
    assert_eq!(spec("azure", "eastus", "Standard_D2s_v5").cost_per_hour, 0.096);
    assert_eq!(spec("gcp", "us-central1", "e2-medium").cost_per_hour, 0.033503);
    // Sao Paulo is the dearest AWS region, Virginia and Ohio the cheapest.
    let price = |r: &str| spec("aws", r, "c5.large").cost_per_hour;
    assert!(price("sa-east-1") > price("eu-central-1"));
    assert!(price("eu-central-1") > price("us-east-2"));
    assert_eq!(price("us-east-1"), price("us-east-2"));
}

#[test]
fn gpu_families_are_offered_in_a_subset_of_regions() {
    assert!(catalog().spec("aws", "us-east-1", "p5.48xlarge").is_some());
    assert!(catalog().spec("aws", "af-south-1", "p5.48xlarge").is_none());
    assert!(catalog().spec("aws", "af-south-1", "g4dn.xlarge").is_some());
    assert!(catalog().spec("ncp", "SGN", "ci2-g3").is_none());
    assert!(catalog().spec("ncp", "KR", "ci2-g3").is_some());
    let a3_regions = catalog().specs().iter().filter(|s| s.name == "a3-highgpu-8g").count();
    assert!((1..catalog().regions_of("gcp").len()).contains(&a3_regions));
}

#[test]
fn images_cover_common_distributions() {
    for provider in PROVIDERS {
        let images = catalog().images_in(provider, ALL_REGIONS);
        assert!(images.iter().any(|i| i.os_type.starts_with("Ubuntu 22.04")), "{provider} has no Ubuntu 22.04");
    }
    let gcp = catalog()
        .image("gcp", "asia-northeast3", "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts")
        .unwrap();
    assert_eq!((gcp.os_architecture.as_str(), gcp.is_gpu_image), ("x86_64", false));
    let azure_arm = catalog().image("azure", "koreacentral", "Canonical:ubuntu-24_04-lts:server-arm64:latest").unwrap();
    assert_eq!(azure_arm.os_architecture, "arm64");
    assert!(catalog().images().iter().any(|i| i.provider == "aws" && i.is_gpu_image));
    // `all` images are usable in every region of their provider, and only there.
    assert_eq!(catalog().images_in("aws", "eu-west-1").len(), catalog().images_in("aws", ALL_REGIONS).len());
    assert!(catalog().images_in("nowhere", "eu-west-1").is_empty());
}
