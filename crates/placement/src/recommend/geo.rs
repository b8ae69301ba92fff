//! Points on the Earth and the one distance formula used everywhere in placement.

/// Mean Earth radius used by CB-Tumblebug (and here) for every distance.
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// A point in degrees: latitude north in -90..=90, longitude east in -180..=180.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinate {
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
}

impl Coordinate {
    /// A checked point: `None` unless both values are finite and in range.
    pub fn new(latitude: f64, longitude: f64) -> Option<Coordinate> {
        let valid = latitude.is_finite()
            && longitude.is_finite()
            && (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude);
        valid.then_some(Coordinate { latitude, longitude })
    }

    /// Reads `"latitude/longitude"` (the request spelling, e.g. `37.5665/126.9780`); a comma
    /// in place of the slash is accepted too, as the v0.11 document's description writes it.
    pub fn parse(text: &str) -> Option<Coordinate> {
        let (lat, lon) = text.split_once('/').or_else(|| text.split_once(','))?;
        Coordinate::new(lat.trim().parse().ok()?, lon.trim().parse().ok()?)
    }
}

/// Great-circle distance in km by the haversine formula (R = 6371 km).
pub fn haversine_km(a: Coordinate, b: Coordinate) -> f64 {
    // One formula for the whole crate: the latency model's.
    crate::latency::haversine_km((a.latitude, a.longitude), (b.latitude, b.longitude))
}

/// The point "in the middle" of `points` on the sphere: the mean of their unit vectors,
/// projected back onto the surface. Unlike the arithmetic mean of degrees (CB-Tumblebug's
/// choice) it does not jump to the far side of the globe for points on both sides of the
/// antimeridian (Seoul and San Francisco give the North Pacific, not Africa). `None` when
/// there are no points or they cancel out (e.g. two antipodes).
pub fn centroid(points: &[Coordinate]) -> Option<Coordinate> {
    let (mut x, mut y, mut z) = (0.0, 0.0, 0.0);
    for p in points {
        let (lat, lon) = (p.latitude.to_radians(), p.longitude.to_radians());
        x += lat.cos() * lon.cos();
        y += lat.cos() * lon.sin();
        z += lat.sin();
    }
    let norm = (x * x + y * y + z * z).sqrt();
    if points.is_empty() || norm < 1e-9 * points.len() as f64 {
        return None;
    }
    let latitude = (z / norm).asin().to_degrees();
    let longitude = y.atan2(x).to_degrees();
    Coordinate::new(latitude, longitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Coordinate {
        Coordinate::new(lat, lon).unwrap()
    }

    #[test]
    fn parses_both_separators_and_refuses_out_of_range() {
        assert_eq!(Coordinate::parse("37.5/127"), Some(at(37.5, 127.0)));
        assert_eq!(Coordinate::parse(" -33.9 , 151.2 "), Some(at(-33.9, 151.2)));
        for bad in ["", "37.5", "91/0", "0/181", "a/b", "NaN/0", "1/2/3"] {
            assert_eq!(Coordinate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn centroid_of_one_point_is_the_point_and_antipodes_have_none() {
        let c = centroid(&[at(10.0, 20.0)]).unwrap();
        assert!((c.latitude - 10.0).abs() < 1e-9 && (c.longitude - 20.0).abs() < 1e-9);
        assert_eq!(centroid(&[at(0.0, 0.0), at(0.0, 180.0)]), None);
        assert_eq!(centroid(&[]), None);
    }
}
