//! The driver's checks: each frame the stack sends, the invariants
//! between steps, and the end of a run (everything closed, timers run
//! out, no TCP socket left).

use super::*;

impl Driver {
    /// Takes everything the stack has to send, checking each frame, and
    /// every event.
    pub(super) fn drain(&mut self) -> Result<(), String> {
        let mut frames = 0;
        while let Some(n) = self.stack.poll_transmit(self.now, &mut self.buf) {
            frames += 1;
            if frames > MAX_PER_STEP {
                return Err("poll_transmit never ends".into());
            }
            self.report.frames_out += 1;
            let frame = self.buf[..n].to_vec();
            self.check_out(&frame)
                .map_err(|e| format!("frame out {:02x?}: {e}", &frame[..frame.len().min(64)]))?;
        }
        let mut events = 0;
        while self.stack.poll_event().is_some() {
            events += 1;
            if events > MAX_PER_STEP {
                return Err("poll_event never ends".into());
            }
        }
        Ok(())
    }

    /// One frame from the stack.
    fn check_out(&mut self, frame: &[u8]) -> Result<(), String> {
        if frame.len() > self.cfg.mtu {
            return Err(format!(
                "{} bytes, over the MTU of {}",
                frame.len(),
                self.cfg.mtu
            ));
        }
        let (src, dst, proto, payload, whole) = match frame.first().map(|b| b >> 4) {
            Some(4) => {
                let p = Ipv4Packet::new_checked(frame).map_err(|e| format!("IPv4: {e}"))?;
                let ip =
                    Ipv4Repr::parse(&p, ChecksumCaps::FULL).map_err(|e| format!("IPv4: {e}"))?;
                if usize::from(p.total_len()) != frame.len() {
                    return Err("IPv4 total length is not the frame's".into());
                }
                let whole = !p.more_frags() && p.frag_offset() == 0;
                let payload = &frame[p.header_len()..];
                (
                    IpAddr::V4(ip.src_addr),
                    IpAddr::V4(ip.dst_addr),
                    ip.next_header,
                    payload,
                    whole,
                )
            }
            Some(6) => {
                let p = Ipv6Packet::new_checked(frame).map_err(|e| format!("IPv6: {e}"))?;
                if usize::from(p.payload_len()) + 40 != frame.len() {
                    return Err("IPv6 payload length is not the frame's".into());
                }
                let payload = &frame[40..];
                (
                    IpAddr::V6(p.src_addr()),
                    IpAddr::V6(p.dst_addr()),
                    p.next_header(),
                    payload,
                    true,
                )
            }
            _ => return Err("neither IPv4 nor IPv6".into()),
        };
        if !self.cfg.addrs.contains(&src) {
            return Err(format!("from {src}, not one of our addresses"));
        }
        if dst.is_unspecified() {
            return Err("to the unspecified address".into());
        }
        self.last_out[usize::from(src.is_ipv6())] = frame[..frame.len().min(128)].to_vec();
        if !whole {
            return Ok(());
        }
        match proto {
            IpProtocol::Tcp => {
                let p = TcpPacket::new_checked(payload).map_err(|e| format!("TCP: {e}"))?;
                let tcp = TcpRepr::parse(&p, src, dst, ChecksumCaps::FULL)
                    .map_err(|e| format!("TCP: {e}"))?;
                let key = (
                    SocketAddr::new(src, tcp.src_port),
                    SocketAddr::new(dst, tcp.dst_port),
                );
                self.on_tcp_out(key, &tcp, frame)
            }
            IpProtocol::Udp => {
                let p = UdpPacket::new_checked(payload).map_err(|e| format!("UDP: {e}"))?;
                UdpRepr::parse(&p, src, dst, ChecksumCaps::FULL)
                    .map_err(|e| format!("UDP: {e}"))?;
                Ok(())
            }
            IpProtocol::Icmp => {
                let p = Icmpv4Packet::new_checked(payload).map_err(|e| format!("ICMP: {e}"))?;
                if !p.verify_checksum() {
                    return Err("ICMP checksum".into());
                }
                Ok(())
            }
            IpProtocol::Icmpv6 => {
                let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
                    return Err("ICMPv6 over IPv4".into());
                };
                let p = Icmpv6Packet::new_checked(payload).map_err(|e| format!("ICMPv6: {e}"))?;
                if !p.verify_checksum(s, d) {
                    return Err("ICMPv6 checksum".into());
                }
                Ok(())
            }
            // A fragment header: the pieces of a long datagram.
            IpProtocol::Ipv6Frag => Ok(()),
            other => Err(format!("an unexpected protocol {other:?}")),
        }
    }

    /// What a TCP segment from the stack tells of its connection.
    fn on_tcp_out(
        &mut self,
        key: (SocketAddr, SocketAddr),
        tcp: &TcpRepr<'_>,
        frame: &[u8],
    ) -> Result<(), String> {
        let rst = tcp.flags.contains(TcpFlags::RST);
        if rst && self.rst_in.contains(&key) {
            return Err(format!("{key:?}: an RST answers an RST"));
        }
        let t = self.tuples.entry(key).or_default();
        t.last_out = frame[..frame.len().min(128)].to_vec();
        if rst {
            return Ok(());
        }
        let syn = tcp.flags.contains(TcpFlags::SYN);
        let fin = tcp.flags.contains(TcpFlags::FIN);
        let end = tcp
            .seq_number
            .wrapping_add(tcp.payload.len() as u32)
            .wrapping_add(u32::from(syn) + u32::from(fin));
        if let Some((val, _)) = tcp.timestamp {
            t.stack_tsval = Some(val);
        }
        match (syn, tcp.ack_number) {
            (true, None) => {
                // Our SYN: a connection we open.
                t.acked_to = None;
                t.stack_nxt = Some(end);
            }
            (true, Some(ack)) => {
                if let Some(isn) = t.peer_isn
                    && ack != isn.wrapping_add(1)
                {
                    return Err(format!(
                        "{key:?}: a SYN-ACK acknowledges {ack}, the peer's SYN was {isn}"
                    ));
                }
                t.acked_to = Some(ack);
                t.stack_nxt = Some(end);
            }
            (false, Some(ack)) => {
                t.acked_to = Some(latest(t.acked_to, ack));
                t.stack_nxt = Some(latest(t.stack_nxt, end));
            }
            (false, None) => {}
        }
        Ok(())
    }

    /// The invariants that hold between steps.
    pub(super) fn check(&mut self) -> Result<(), String> {
        let count = self.stack.socket_count();
        if count > self.cfg.max_sockets {
            return Err(format!(
                "{count} sockets, over the limit of {}",
                self.cfg.max_sockets
            ));
        }
        let memory = self.stack.buffer_memory();
        if memory > self.cfg.max_buffer_memory {
            return Err(format!(
                "{memory} bytes of buffers, over the limit of {}",
                self.cfg.max_buffer_memory
            ));
        }
        // Both families together, each under its own bound.
        let (held, datagrams) = self.stack.frag_memory();
        if held > self.cfg.frag.memory + self.cfg.frag6.memory {
            return Err(format!(
                "reassembly holds {held} bytes in {datagrams} datagrams, over its limits"
            ));
        }
        for i in 0..self.conns.len() {
            self.check_accounting(i)?;
        }
        Ok(())
    }

    /// Every byte the stack acknowledged on connection `i` has been read
    /// or waits to be, unless the connection failed.
    fn check_accounting(&mut self, i: usize) -> Result<(), String> {
        let conn = &mut self.conns[i];
        if conn.failed {
            return Ok(());
        }
        if !matches!(self.stack.tcp_error(conn.h), Ok(None)) {
            conn.failed = true;
            return Ok(());
        }
        let info = self
            .stack
            .tcp_info(conn.h)
            .map_err(|e| format!("{:?}: gone while the application holds it: {e}", conn.key))?;
        let Some(t) = self.tuples.get(&conn.key) else {
            return Ok(());
        };
        let (Some(isn), Some(acked_to)) = (t.peer_isn, t.acked_to) else {
            return Ok(());
        };
        let acked = u64::from(acked_to.wrapping_sub(isn.wrapping_add(1)));
        let fin = matches!(
            info.state,
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait | State::Closed
        );
        let have = conn.read + info.recv_queue as u64 + u64::from(fin);
        if acked > have {
            return Err(format!(
                "{:?} ({}): the stack acknowledged {acked} bytes, the application read {} and {} wait",
                conn.key, info.state, conn.read, info.recv_queue
            ));
        }
        Ok(())
    }

    /// The application reads everything, checks, closes everything; then
    /// the timers run out and no TCP socket may be left.
    pub(super) fn finish(&mut self) -> Result<(), String> {
        self.rst_in.clear();
        for i in 0..self.conns.len() {
            while self.recv(i, 1 << 16)? > 0 {}
            self.check_accounting(i)?;
        }
        self.udp_recv()?;
        for conn in std::mem::take(&mut self.conns) {
            let _ = self.stack.tcp_close(self.now, conn.h);
        }
        for l in self.listeners.iter_mut().filter_map(Option::take) {
            let _ = self.stack.close(self.now, l);
        }
        self.drain()?;
        let mut rounds = 0;
        while let Some(at) = self.stack.poll_timeout() {
            rounds += 1;
            if rounds > MAX_FINAL_TIMERS {
                return Err("the timers never stop".into());
            }
            self.run_timers(at.max(self.now))?;
        }
        let left = self.stack.socket_count();
        if left != self.udp.len() {
            return Err(format!(
                "{left} sockets left once everything is closed and quiet (only UDP should be)"
            ));
        }
        Ok(())
    }
}
/// The later of two sequence numbers.
fn latest(a: Option<u32>, b: u32) -> u32 {
    match a {
        Some(a) if SeqNum::new(a).after(SeqNum::new(b)) => a,
        _ => b,
    }
}
