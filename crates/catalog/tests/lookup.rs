//! The indexed lookups answer exactly what a linear scan of the catalog answers, including
//! after imports added and replaced entries.

use tb_catalog::{ALL_REGIONS, Catalog, Image, Region, Spec};

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn scan_region<'a>(c: &'a Catalog, p: &str, r: &str) -> Option<&'a Region> {
    c.regions().iter().find(|x| same(&x.provider, p) && same(&x.id, r))
}

fn scan_specs_in<'a>(c: &'a Catalog, p: &str, r: &str) -> Vec<&'a Spec> {
    c.specs().iter().filter(|s| same(&s.provider, p) && same(&s.region, r)).collect()
}

fn scan_spec<'a>(c: &'a Catalog, p: &str, r: &str, n: &str) -> Option<&'a Spec> {
    c.specs().iter().find(|s| same(&s.provider, p) && same(&s.region, r) && same(&s.name, n))
}

fn scan_images_in<'a>(c: &'a Catalog, p: &str, r: &str) -> Vec<&'a Image> {
    c.images().iter().filter(|i| same(&i.provider, p) && (same(&i.region, r) || same(&i.region, ALL_REGIONS))).collect()
}

fn scan_image<'a>(c: &'a Catalog, p: &str, r: &str, n: &str) -> Option<&'a Image> {
    scan_images_in(c, p, r).into_iter().find(|i| same(&i.name, n))
}

/// Compares every listing and a deterministic sample of point lookups (every spec would make
/// the linear side quadratic) with their linear-scan answers.
fn check_against_scans(c: &Catalog) {
    for r in c.regions() {
        for (p, id) in [(r.provider.clone(), r.id.clone()), (r.provider.to_uppercase(), r.id.to_uppercase())] {
            assert_eq!(c.region(&p, &id), scan_region(c, &p, &id));
            assert_eq!(c.specs_in(&p, &id), scan_specs_in(c, &p, &id), "{p}/{id}");
            assert_eq!(c.images_in(&p, &id), scan_images_in(c, &p, &id), "{p}/{id}");
        }
        let regions_of: Vec<&Region> = c.regions().iter().filter(|x| same(&x.provider, &r.provider)).collect();
        assert_eq!(c.regions_of(&r.provider), regions_of);
    }
    for s in c.specs().iter().step_by(97) {
        let upper = s.name.to_uppercase();
        assert_eq!(c.spec(&s.provider, &s.region, &upper), scan_spec(c, &s.provider, &s.region, &upper));
        assert_eq!(c.spec_by_id(&s.id()), Some(s));
        // The same name in another region of the provider, offered there or not.
        if let Some(other) = c.regions_of(&s.provider).last() {
            assert_eq!(c.spec(&s.provider, &other.id, &s.name), scan_spec(c, &s.provider, &other.id, &s.name));
        }
        assert_eq!(c.spec(&s.provider, &s.region, "no-such-spec"), None);
    }
    for i in c.images() {
        for region in c.regions_of(&i.provider).iter().step_by(7) {
            assert_eq!(c.image(&i.provider, &region.id, &i.name), scan_image(c, &i.provider, &region.id, &i.name));
        }
    }
    assert_eq!(c.region("nowhere", "x"), None);
    assert!(c.specs_in("aws", "nowhere").is_empty());
}

#[test]
fn builtin_lookups_equal_linear_scans() {
    check_against_scans(&Catalog::builtin());
}

#[test]
fn lookups_stay_consistent_after_imports() {
    let mut c = Catalog::builtin();
    let specs = "\
provider,region,name,vcpu,memory_gib,cost_per_hour
aws,us-east-1,t3.small,2,2,0.03
aws,us-west-2,z9.huge,64,512,9.5
gcp,all,n9-standard-2,2,8,0.1
";
    let report = c.import_specs_csv(specs).unwrap();
    assert_eq!((report.added, report.updated, report.skipped), (1 + 43, 1, 0));
    let images = "\
providerName,regionName,cspImageName,osType,description,supportedInstance,infraType,osArchitecture,osDistribution
AWS,us-east-1,ami-0123456789abcdef0,Ubuntu 22.04,regional AMI,,vm,x86_64,
aws,all,ami-0123456789abcdef0,Ubuntu 22.04,global entry with the same name,,vm,x86_64,
";
    let report = c.import_cloudimage_csv(images).unwrap();
    assert_eq!(report.added, 2);
    check_against_scans(&c);
    // The name exists both in the region and as `all`: the first inserted wins, as in a scan.
    let img = c.image("aws", "us-east-1", "ami-0123456789abcdef0").unwrap();
    assert_eq!(img.description, "regional AMI");
    let img = c.image("aws", "eu-west-1", "ami-0123456789abcdef0").unwrap();
    assert_eq!(img.description, "global entry with the same name");
}

#[test]
fn replacing_keeps_position_and_adding_appends() {
    let mut c = Catalog::builtin();
    let before = c.specs().len();
    let pos =
        c.specs().iter().position(|s| s.provider == "aws" && s.region == "us-east-1" && s.name == "t3.small").unwrap();
    let mut changed = c.specs()[pos].clone();
    changed.cost_per_hour = 1.5;
    assert_eq!(c.upsert_spec(changed), tb_catalog::Upsert::Replaced);
    assert_eq!(c.specs().len(), before);
    assert_eq!(c.specs()[pos].cost_per_hour, 1.5);
    let mut added = c.specs()[pos].clone();
    added.name = "t3.custom".into();
    assert_eq!(c.upsert_spec(added), tb_catalog::Upsert::Added);
    assert_eq!(c.specs().len(), before + 1);
    assert_eq!(c.specs_in("aws", "us-east-1").last().unwrap().name, "t3.custom");
}
