//! Load time of the built-in catalog and the cost of the hot-path lookups.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tb_catalog::Catalog;

fn load(c: &mut Criterion) {
    c.bench_function("builtin", |b| b.iter(|| black_box(Catalog::builtin())));
}

fn lookups(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    c.bench_function("spec", |b| {
        b.iter(|| black_box(catalog.spec(black_box("aws"), black_box("ap-northeast-2"), "m5.large")))
    });
    c.bench_function("specs_in", |b| {
        b.iter(|| black_box(catalog.specs_in(black_box("aws"), black_box("us-east-1")).len()))
    });
    c.bench_function("images_in", |b| {
        b.iter(|| black_box(catalog.images_in(black_box("gcp"), black_box("us-central1")).len()))
    });
}

criterion_group!(benches, load, lookups);
criterion_main!(benches);
