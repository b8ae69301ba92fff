//! Specs and images of the local cloud. Every VM is the host itself, so any name is accepted;
//! the listed ones are there for discovery.

use crate::{CloudImage, CloudSpec};

/// Listed specs: `local-{vcpu}x{memory GiB}`.
const SPECS: [(u32, u32); 4] = [(1, 1), (2, 4), (4, 8), (8, 16)];

/// Listed images with their OS type. All of them are the host's own OS.
const IMAGES: [(&str, &str); 3] = [("local-debian", "Debian"), ("local-ubuntu", "Ubuntu"), ("local-host", "Linux")];

/// Architecture in Tumblebug's words.
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    }
}

fn spec(name: String, vcpu: u32, memory_gib: u32) -> CloudSpec {
    CloudSpec {
        name,
        vcpu,
        memory_gib: f64::from(memory_gib),
        gpu_model: String::new(),
        gpu_count: 0,
        architecture: architecture().to_string(),
    }
}

/// The specs the local cloud lists.
pub fn list_specs() -> Vec<CloudSpec> {
    SPECS.iter().map(|&(cpu, mem)| spec(format!("local-{cpu}x{mem}"), cpu, mem)).collect()
}

/// Any name is a spec: `local-{c}x{m}` reads as c vCPU and m GiB, anything else as 1 x 1.
pub fn lookup_spec(name: &str) -> CloudSpec {
    let sizes = name
        .strip_prefix("local-")
        .and_then(|rest| rest.split_once('x'))
        .and_then(|(cpu, mem)| Some((cpu.parse().ok()?, mem.parse().ok()?)));
    let (cpu, mem) = sizes.unwrap_or((1, 1));
    spec(name.to_string(), cpu, mem)
}

/// The images the local cloud lists.
pub fn list_images() -> Vec<CloudImage> {
    IMAGES.iter().map(|&(name, os)| image(name, os)).collect()
}

/// Any name is an image; unlisted names are plain Linux.
pub fn lookup_image(name: &str) -> CloudImage {
    let os = IMAGES.iter().find(|(listed, _)| *listed == name).map_or("Linux", |&(_, os)| os);
    image(name, os)
}

fn image(name: &str, os_type: &str) -> CloudImage {
    CloudImage { name: name.to_string(), os_type: os_type.to_string(), os_architecture: architecture().to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names_carry_their_size() {
        let s = lookup_spec("local-4x8");
        assert_eq!((s.vcpu, s.memory_gib), (4, 8.0));
        let any = lookup_spec("whatever");
        assert_eq!((any.name.as_str(), any.vcpu), ("whatever", 1));
        assert!(list_specs().iter().any(|s| s.name == "local-1x1"));
    }

    #[test]
    fn images_are_accepted_by_any_name() {
        assert_eq!(lookup_image("local-ubuntu").os_type, "Ubuntu");
        assert_eq!(lookup_image("custom").os_type, "Linux");
        assert_eq!(list_images().len(), 3);
    }
}
