//! Native CSP VM states and their mapping to Tumblebug statuses (reference §3.2).
