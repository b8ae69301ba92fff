//! The catalog of clouds Tumblebug knows: providers, their regions (with coordinates and
//! zones), VM specs (shape and list price) and images. The built-in catalog is written by the
//! project as facts in `data/`; CB-Tumblebug's asset files and generic spec CSVs can be imported
//! on top of it.
//!
//! # Lookups
//!
//! Every lookup is served from a hash index and is case-insensitive, because Tumblebug's ids
//! are lower-cased `{provider}+{region}+{name}` strings (`aws+ap-northeast-2+t3.nano`):
//! `catalog.spec("AWS", "ap-northeast-2", "T3.NANO")` finds the same spec as
//! `catalog.spec_by_id("aws+ap-northeast-2+t3.nano")`. Listings (`specs_in`, `images_in`, ...)
//! keep insertion order.
//!
//! # Built-in data
//!
//! `data/regions.txt`, `data/specs.txt` and `data/images.txt` hold, for aws, azure, gcp,
//! alibaba, tencent, ibm, ncp, nhn and openstack, the regions (id, display name, coordinates,
//! zones, price factor), the specs (size, architecture, accelerators, list price in the
//! provider's reference region, regions offered in) and a few public images. Each file's header
//! documents its syntax. A spec's price in a region is its reference price times the region's
//! factor, rounded to micro-dollars.
//!
//! # Importers
//!
//! Each importer returns an [`ImportReport`] (entries added and updated, rows skipped, and
//! line-numbered issues); only a file that cannot be read at all is a [`CatalogError`].
//!
//! * [`Catalog::import_cloudinfo_yaml`]: CB-Tumblebug's `cloudinfo.yaml`; adds providers and
//!   adds or replaces regions.
//! * [`Catalog::import_cloudspec_csv`]: CB-Tumblebug's `cloudspec.csv`; overrides of specs the
//!   catalog has (price when `costPerHour >= 0`, converted from `currency` with
//!   [`UNITS_PER_USD`]; `evaluationScore01` when positive; accelerator model/count/memory, the
//!   file's `acceleratorMemoryGB` being the total over all accelerators; `description`).
//!   `regionName` is a region id (any case) or `all` for every region of the provider.
//! * [`Catalog::import_cloudimage_csv`]: CB-Tumblebug's `cloudimage.csv`; VM images (Kubernetes
//!   node images, `infraType` without `vm`, are skipped). An empty `osArchitecture` is taken
//!   from the OS type or name (`ARM64` means `arm64`, otherwise `x86_64`).
//! * [`Catalog::import_specs_csv`]: the generic specs CSV below.
//!
//! # Generic specs CSV
//!
//! A header row names the columns; they are matched by name (case-insensitive), in any
//! order, and unknown columns are ignored.
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `provider` | yes | provider id, e.g. `aws` (must be in the catalog) |
//! | `region` | yes | region id (must be in the catalog), or `all` for every region of the provider |
//! | `name` | yes | the CSP's instance type name |
//! | `vcpu` | yes | whole number >= 1 |
//! | `memory_gib` | yes | number > 0 |
//! | `cost_per_hour` | no | on-demand USD per hour; empty or negative = unknown (-1) |
//! | `architecture` | no | `x86_64` (default; `amd64` accepted) or `arm64` (`aarch64` accepted) |
//! | `gpu_model` | no | e.g. `NVIDIA T4`; empty = no accelerator |
//! | `gpu_count` | no | accelerators per VM, default 1 when `gpu_model` is set |
//! | `gpu_memory_gib` | no | memory per accelerator, default 0 (unknown) |
//! | `description` | no | free text |
//!
//! A row adds the spec or replaces the one with the same provider, region and name; a
//! replaced spec keeps its `evaluation_score01`, and its description unless the row has one.
//!
//! ```text
//! name,provider,region,vcpu,memory_gib,cost_per_hour,gpu_model,gpu_count,gpu_memory_gib
//! g9.xlarge,aws,us-east-1,4,16,0.9,NVIDIA L40S,1,48
//! ```

mod builtin;
mod catalog;
mod data_file;
mod error;
mod import;
mod key;
mod report;
mod table;
mod types;

pub use catalog::Catalog;
pub use error::CatalogError;
pub use import::currency::{UNITS_PER_USD, to_usd};
pub use report::{ImportReport, RowIssue};
pub use table::Upsert;
pub use types::{ALL_REGIONS, Gpu, Image, Provider, Region, Spec, normalize_architecture};
