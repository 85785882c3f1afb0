//! The client side of one run: the workload a client thread runs against
//! a contender's services (in whatever namespace the thread is), shared by
//! every setup (`setup.rs`, `proxy.rs`).

use std::time::Duration;

use anyhow::bail;

use super::dial::Dial;
use super::workload::{self, Addrs, Service};
use super::{Report, Workload, checked};

/// A run's wall time, and rr's latency percentiles.
pub(super) type Measured = (Duration, Option<workload::Latency>);

/// One run of `workload`; with loss, bulk and download are the checked
/// transfers, bounded in time.
pub(super) fn run<D: Dial>(
    d: &D,
    addrs: Addrs,
    workload: Workload,
    r: &Report,
) -> anyhow::Result<Measured> {
    // The client runs on this thread (in the client's namespace).
    workload::pin(r.pin.client_cpu())?;
    let echo = addrs.get(Service::Echo);
    let alone = |d: anyhow::Result<Duration>| d.map(|d| (d, None));
    match (workload, r.transfer_limit()) {
        (Workload::Bulk, None) => {
            alone(workload::bulk(d, addrs.get(Service::Discard), r.bulk_bytes))
        }
        (Workload::Download, None) => alone(workload::download(
            d,
            addrs.get(Service::Source),
            r.bulk_bytes,
        )),
        (Workload::Bulk, Some(limit)) => alone(checked::bulk(
            d,
            addrs.get(Service::Verify),
            r.bulk_bytes,
            limit,
        )),
        (Workload::Download, Some(limit)) => alone(checked::download(
            d,
            addrs.get(Service::Pattern),
            r.bulk_bytes,
            limit,
        )),
        (Workload::Rr, None) => {
            let (took, latency) = workload::rr(d, echo, r.rr_rounds, usize::try_from(r.rr_size)?)?;
            Ok((took, Some(latency)))
        }
        (Workload::Crr, None) => alone(workload::crr(d, echo, r.crr_conns)),
        (Workload::Rr100, None) => alone(workload::rr_concurrent(
            d,
            echo,
            super::rr100_rounds(r),
            usize::try_from(r.rr_size)?,
        )),
        (Workload::Rr | Workload::Rr100 | Workload::Crr, Some(_)) => {
            bail!("rr and crr are not run under loss")
        }
        (Workload::Flows, _) => bail!("flows is a workload of the proxy target only"),
    }
}
