//! Checking an ICMP error against the connection it claims to concern
//! (RFC 5927 section 4.1): the quoted segment must be one we could have
//! sent, or the error is a blind attack and is ignored.

use crate::tcp::seq::SeqNum;

use super::Connection;

impl Connection {
    /// Whether `seq`, the sequence number quoted by an ICMP error, lies in
    /// our unacknowledged data (SND.UNA =< seq < SND.MAX), as Linux checks in
    /// `tcp_v4_err`. A SYN we have not seen acknowledged counts too.
    pub(crate) fn icmp_seq_acceptable(&self, seq: SeqNum) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc5927#section-4.1
        //# Many TCP implementations have incorporated a validation check such that
        //# they react only to those ICMP error messages that appear to relate to
        //# segments currently "in flight" to the destination system.  These
        //# implementations check that the TCP sequence number contained in the
        //# payload of the ICMP error message is within the range SND.UNA =< SEG.SEQ
        //# < SND.NXT.
        self.snd_una.before_or_eq(seq) && seq.before(self.snd_nxt)
    }
}
