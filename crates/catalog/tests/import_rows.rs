//! Row-level behaviour of the importers: leniency, skipped rows with their line numbers, and
//! whole-file errors.

use tb_catalog::{Catalog, CatalogError, Gpu, ImportReport};

/// (line, skipped) of every issue.
fn issue_lines(report: &ImportReport) -> Vec<(usize, bool)> {
    report.issues.iter().map(|i| (i.line, i.skipped)).collect()
}

#[test]
fn generic_specs_csv_matches_columns_by_name_in_any_order() {
    let mut c = Catalog::builtin();
    let text = "\
Memory_GiB,GPU_MODEL,name,extra,region,gpu_memory_gib,provider,vcpu,architecture,gpu_count,cost_per_hour
48,NVIDIA L40S,g9.xlarge,ignored,us-east-1,48,aws,8,amd64,2,1.75
4,,c9a.large,,eu-west-1,,aws,2,aarch64,,
";
    let report = c.import_specs_csv(text).unwrap();
    assert_eq!((report.rows, report.added, report.updated, report.skipped), (2, 2, 0, 0));
    let g9 = c.spec("aws", "us-east-1", "g9.xlarge").unwrap();
    assert_eq!((g9.vcpu, g9.memory_gib, g9.cost_per_hour), (8, 48.0, 1.75));
    assert_eq!(g9.architecture, "x86_64");
    assert_eq!(g9.gpu, Some(Gpu { model: "NVIDIA L40S".into(), count: 2, memory_gib: 48.0 }));
    let c9 = c.spec("aws", "eu-west-1", "c9a.large").unwrap();
    assert_eq!((c9.architecture.as_str(), c9.cost_per_hour, &c9.gpu), ("arm64", -1.0, &None));
}

#[test]
fn generic_specs_csv_with_only_the_required_columns() {
    let mut c = Catalog::builtin();
    let text = "vcpu,name,memory_gib,region,provider\n4,m1.big,8,RegionOne,openstack\n";
    let report = c.import_specs_csv(text).unwrap();
    assert_eq!(report.added, 1);
    let spec = c.spec("openstack", "regionone", "m1.big").unwrap();
    assert_eq!(spec.region, "RegionOne", "the catalog's spelling of the region is kept");
    assert_eq!((spec.cost_per_hour, spec.architecture.as_str()), (-1.0, "x86_64"));
}

#[test]
fn generic_specs_csv_reports_bad_rows_with_their_line_numbers() {
    let mut c = Catalog::builtin();
    let text = "\
provider,region,name,vcpu,memory_gib,cost_per_hour,architecture,gpu_model,gpu_count,description
aws,us-east-1,ok.one,2,4,0.1,,,,
aws,us-east-1,bad.vcpu,two,4,0.1,,,,
aws,us-east-1,bad.memory,2,-4,0.1,,,,
aws,us-east-1,bad.cost,2,4,abc,,,,
aws,us-east-1,bad.arch,2,4,0.1,sparc,,,
aws,us-east-1,bad.gpu,2,4,0.1,,,2,
aws,mars-1,bad.region,2,4,0.1,,,,
nocloud,x,bad.provider,2,4,0.1,,,,
aws,us-east-1,,2,4,0.1,,,,
aws,us-east-1,ok.two,2,4,0.1,,,,\"a description
over two lines\"
aws,us-east-1,bad.inf,2,inf,0.1,,,,
aws,us-east-1,ok.three,2,4,0.1,,,,
";
    let report = c.import_specs_csv(text).unwrap();
    assert_eq!((report.rows, report.added, report.skipped), (12, 3, 9));
    // The quoted description spans lines 11 and 12, so `bad.inf` is on line 13.
    let skipped_lines = [3, 4, 5, 6, 7, 8, 9, 10, 13].map(|l| (l, true));
    assert_eq!(issue_lines(&report), skipped_lines);
    let messages: Vec<String> = report.issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        messages,
        [
            "line 3: skipped: vcpu `two` is not a whole number >= 0",
            "line 4: skipped: memory_gib must be a number > 0",
            "line 5: skipped: cost_per_hour `abc` is not a number",
            "line 6: skipped: architecture `sparc` is neither x86_64 nor arm64",
            "line 7: skipped: gpu_count is set but gpu_model is empty",
            "line 8: skipped: region aws/mars-1 is not in the catalog",
            "line 9: skipped: provider nocloud is not in the catalog",
            "line 10: skipped: name is empty",
            "line 13: skipped: memory_gib `inf` is not a number",
        ]
    );
    assert_eq!(c.spec("aws", "us-east-1", "ok.two").unwrap().description, "a description\nover two lines");
    assert!(c.spec("aws", "us-east-1", "ok.three").is_some());
    assert!(c.spec("aws", "us-east-1", "bad.cost").is_none());
}

#[test]
fn replacing_a_spec_keeps_its_measured_score_and_description() {
    let mut c = Catalog::builtin();
    let scores =
        "providerName,regionName,cspSpecName,evaluationScore01,description\naws,us-east-1,t3.small,7.5,burstable\n";
    c.import_cloudspec_csv(scores).unwrap();
    let report = c
        .import_specs_csv("provider,region,name,vcpu,memory_gib,cost_per_hour\naws,us-east-1,t3.small,2,2,0.02\n")
        .unwrap();
    assert_eq!((report.added, report.updated), (0, 1));
    let spec = c.spec("aws", "us-east-1", "t3.small").unwrap();
    assert_eq!((spec.cost_per_hour, spec.evaluation_score01), (0.02, 7.5));
    assert_eq!(spec.description, "burstable");
}

#[test]
fn generic_specs_csv_region_all_expands_to_every_region() {
    let mut c = Catalog::builtin();
    let report = c.import_specs_csv("provider,region,name,vcpu,memory_gib\nnhn,ALL,z1.c2m4,2,4\n").unwrap();
    assert_eq!(report.added, 5);
    assert_eq!(c.specs().iter().filter(|s| s.name == "z1.c2m4").count(), 5);
}

#[test]
fn missing_required_columns_fail_the_whole_file() {
    let mut c = Catalog::builtin();
    let err = c.import_specs_csv("provider,region,name,vcpu\naws,us-east-1,x,2\n").unwrap_err();
    assert!(matches!(err, CatalogError::MissingColumn("memory_gib")));
    assert_eq!(err.to_string(), "the CSV header lacks the required column `memory_gib`");
    assert!(matches!(c.import_specs_csv("").unwrap_err(), CatalogError::MissingColumn("provider")));
    assert!(matches!(
        c.import_cloudspec_csv("providerName,regionName,costPerHour\n").unwrap_err(),
        CatalogError::MissingColumn("cspSpecName")
    ));
    assert!(matches!(
        c.import_cloudimage_csv("providerName,cspImageName\n").unwrap_err(),
        CatalogError::MissingColumn("regionName")
    ));
    assert!(c.spec("aws", "us-east-1", "x").is_none());
}

#[test]
fn cloudspec_rows_are_checked_before_anything_changes() {
    let mut c = Catalog::builtin();
    let before = c.spec("ncp", "KR", "s2-g3").unwrap().clone();
    let text = "\
providerName,regionName,cspSpecName,costPerHour,currency,evaluationScore01,acceleratorModel,acceleratorCount,acceleratorMemoryGB,description
NCP,kr,s2-g3,abc,USD,5,,,,should not apply
NCP,kr,s2-g3,0.09,USD,-1,,,,
NCP,KR,s4-g3,1.5,GBP,3.5,,,,price left out
NCP,KR,s8-g3,-1,USD,,,,,
AWS,us-east-1,p3.2xlarge,,,,NVIDIA V100,x,16,
AWS,us-east-1,t3.small,,,,NVIDIA T4,2,32,hypothetical
AWS,us-east-1,no.such,1,USD,,,,,
";
    let report = c.import_cloudspec_csv(text).unwrap();
    assert_eq!((report.rows, report.updated, report.skipped), (7, 4, 3));
    let messages: Vec<String> = report.issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        messages,
        [
            "line 2: skipped: costPerHour `abc` is not a number",
            "line 4: warning: costPerHour 1.5 is in unsupported currency GBP; price left unchanged",
            "line 6: skipped: acceleratorCount `x` is not a whole number >= 0",
            "line 8: skipped: spec aws/us-east-1/no.such is not in the catalog, so its size is unknown",
        ]
    );
    let s2 = c.spec("ncp", "KR", "s2-g3").unwrap();
    assert_eq!(s2.cost_per_hour, 0.09, "line 3, region matched in any case");
    assert_eq!(s2.evaluation_score01, before.evaluation_score01);
    assert_eq!(s2.description, "");
    let s4 = c.spec("ncp", "KR", "s4-g3").unwrap();
    assert_eq!(s4.evaluation_score01, 3.5);
    assert_eq!(s4.description, "price left out");
    assert_ne!(s4.cost_per_hour, 1.5);
    let s8_before = Catalog::builtin_shared().spec("ncp", "KR", "s8-g3").unwrap().cost_per_hour;
    assert_eq!(c.spec("ncp", "KR", "s8-g3").unwrap().cost_per_hour, s8_before, "-1 keeps the price");
    let t3 = c.spec("aws", "us-east-1", "t3.small").unwrap();
    assert_eq!(t3.gpu, Some(Gpu { model: "NVIDIA T4".into(), count: 2, memory_gib: 16.0 }));
    assert_eq!(c.spec("aws", "us-east-1", "p3.2xlarge").unwrap().gpu.as_ref().unwrap().count, 1);
}

#[test]
fn cloudimage_rows() {
    let mut c = Catalog::builtin();
    let text = "\
providerName,regionName,cspImageName,osType,description,supportedInstance,infraType,osArchitecture,osDistribution
aws,ap-northeast-2,ami-1,Ubuntu 22.04,NVIDIA driver image,,vm|k8s,,Ubuntu 22.04.5 LTS
aws,mars-1,ami-2,Ubuntu 22.04,,,vm,,
aws,all,ami-3,Ubuntu 22.04,,,vm,sparc,
GCP,ALL,my-image,Debian 12,,,,aarch64,
";
    let report = c.import_cloudimage_csv(text).unwrap();
    assert_eq!((report.added, report.skipped), (2, 2));
    assert_eq!(issue_lines(&report), [(3, true), (4, true)]);
    let ami = c.image("aws", "AP-NORTHEAST-2", "ami-1").unwrap();
    assert!(ami.is_gpu_image);
    assert_eq!(ami.os_distribution, "Ubuntu 22.04.5 LTS");
    assert!(c.image("aws", "us-east-1", "ami-1").is_none(), "regional image");
    let mine = c.image("gcp", "europe-west4", "my-image").unwrap();
    assert_eq!((mine.region.as_str(), mine.os_architecture.as_str()), ("all", "arm64"));
    assert_eq!(mine.os_distribution, "Debian 12");
    // Importing the same rows again replaces instead of duplicating.
    let again = c.import_cloudimage_csv(text).unwrap();
    assert_eq!((again.added, again.updated), (0, 2));
}

#[test]
fn cloudinfo_is_lenient_and_reports_bad_regions_by_line() {
    let text = "\
# a comment
cloud:
  mycloud:
    description: My Cloud
    driver: my-driver.so
    odd: [1, 2]
    region:
      r-one:
        description: First region
        location:
          latitude: '12.5'
          longitude: 100
        zone:
        - 1
        - z-b
      r-two:
        location:
          display: Second
          latitude: north
          longitude: 10
      r-three:
        location:
          display: Third
          latitude: 10
          longitude: 200
      r-four:
        location:
          display: Fourth
          latitude: -10
          longitude: -20
        zone:
      r-five: just a string
  other:
    description: Other
";
    let mut c = Catalog::empty();
    let report = c.import_cloudinfo_yaml(text).unwrap();
    assert_eq!((report.rows, report.added, report.skipped), (5, 2, 3));
    let messages: Vec<String> = report.issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        messages,
        [
            "line 16: skipped: mycloud/r-two: latitude is not a number",
            "line 21: skipped: mycloud/r-three: longitude 200 is out of range",
            "line 32: skipped: mycloud/r-five: the region is not a mapping",
        ]
    );
    let one = c.region("mycloud", "r-one").unwrap();
    assert_eq!(one.display, "First region", "display falls back to description");
    assert_eq!((one.latitude, one.longitude), (12.5, 100.0));
    assert_eq!(one.zones, ["1", "z-b"]);
    assert!(c.region("mycloud", "r-four").unwrap().zones.is_empty());
    assert_eq!(c.provider("mycloud").unwrap().display, "My Cloud");
    assert_eq!(c.provider("other").unwrap().display, "Other");
    // A second import replaces.
    let again = c.import_cloudinfo_yaml(text).unwrap();
    assert_eq!((again.added, again.updated), (0, 2));
}

#[test]
fn cloudinfo_whole_file_errors() {
    let mut c = Catalog::empty();
    let err = c.import_cloudinfo_yaml("cloud:\n  aws: [\n").unwrap_err();
    assert!(matches!(err, CatalogError::Yaml { line: Some(_), .. }), "{err:?}");
    assert!(err.to_string().starts_with("the YAML document could not be parsed (line "));
    let err = c.import_cloudinfo_yaml("clouds:\n  aws: {}\n").unwrap_err();
    assert!(matches!(err, CatalogError::MissingCloud));
    assert!(matches!(c.import_cloudinfo_yaml("- just\n- a list\n").unwrap_err(), CatalogError::MissingCloud));
    assert!(c.providers().is_empty());
}
