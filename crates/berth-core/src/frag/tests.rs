use super::*;

fn limits() -> FragLimits {
    FragLimits {
        memory: 1 << 20,
        max_payload: MAX_PAYLOAD,
        max_fragments: 8,
        timeout: Duration::from_secs(30),
    }
}

type V4 = Reassembler<Ipv4Key, Ipv4Repr>;

/// The header of a fragment of datagram `ident` at `offset`, MF = `more`.
fn header(ident: u16, offset: usize, more: bool, len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 1),
        dst_addr: Ipv4Addr::new(198, 18, 0, 2),
        next_header: IpProtocol::Udp,
        payload_len: len,
        hop_limit: 64,
        dscp: 0,
        ecn: crate::wire::Ecn::NotEct,
        ident,
        dont_frag: false,
        more_frags: more,
        frag_offset: offset as u16,
    }
}

fn put(r: &mut V4, ident: u16, offset: usize, more: bool, data: &[u8]) -> FragOutcome<Ipv4Repr> {
    let h = header(ident, offset, more, data.len());
    let key = Ipv4Key {
        src: h.src_addr,
        dst: h.dst_addr,
        protocol: h.next_header,
        ident,
    };
    r.input(Instant::ZERO, key, Fragment { offset, more, data }, Some(h))
}

#[test]
fn pieces_in_any_order() {
    let mut r = V4::new(limits(), 1, 2);
    let data: Vec<u8> = (0..40).collect();
    assert_eq!(put(&mut r, 1, 32, false, &data[32..]), FragOutcome::Pending);
    assert_eq!(put(&mut r, 1, 0, true, &data[..16]), FragOutcome::Pending);
    assert_eq!(put(&mut r, 1, 0, true, &data[..16]), FragOutcome::Duplicate);
    assert_eq!(
        put(&mut r, 1, 16, true, &data[16..32]),
        FragOutcome::Complete(Reassembled {
            head: header(1, 0, true, 16),
            payload: data
        }),
        "the head is the first fragment's"
    );
    assert_eq!((r.memory(), r.len()), (0, 0));
}

#[test]
fn inconsistent_ends_drop_the_datagram() {
    let mut r = V4::new(limits(), 1, 2);
    assert_eq!(put(&mut r, 2, 8, false, &[0; 8]), FragOutcome::Pending);
    assert_eq!(
        put(&mut r, 2, 16, true, &[0; 8]),
        FragOutcome::Malformed,
        "a piece past the known end"
    );
    assert_eq!((r.memory(), r.len()), (0, 0));
    assert_eq!(
        put(&mut r, 3, 0, true, &[0; 7]),
        FragOutcome::Malformed,
        "a middle piece not a multiple of 8"
    );
    for i in 0..8 {
        assert_eq!(put(&mut r, 4, i * 8, true, &[0; 8]), FragOutcome::Pending);
    }
    assert_eq!(put(&mut r, 4, 64, true, &[0; 8]), FragOutcome::TooMany);
    assert_eq!((r.memory(), r.len()), (0, 0));
}

#[test]
fn a_first_fragment_needs_its_head() {
    let mut r = V4::new(limits(), 1, 2);
    let key = Ipv4Key {
        src: Ipv4Addr::new(198, 18, 0, 1),
        dst: Ipv4Addr::new(198, 18, 0, 2),
        protocol: IpProtocol::Udp,
        ident: 5,
    };
    let first = Fragment {
        offset: 0,
        more: true,
        data: &[0; 8],
    };
    assert_eq!(
        r.input(Instant::ZERO, key, first, None),
        FragOutcome::Malformed
    );
    assert_eq!((r.memory(), r.len()), (0, 0));
}
