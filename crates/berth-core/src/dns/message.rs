//! Whole messages (RFC 1035 section 4.1): parse, emit, and the responses a
//! server builds.

use super::{
    Class, Error, Header, Name, Question, Rcode, Reader, Record, RecordData, RecordType, Result,
};

/// The fewest octets a question takes: the root name, QTYPE and QCLASS.
const MIN_QUESTION_LEN: usize = 1 + 4;
/// The fewest octets a record takes: the root name, TYPE, CLASS, TTL and
/// RDLENGTH.
const MIN_RECORD_LEN: usize = 1 + 10;
/// Pointers hold 14 bits: a name written from this offset on cannot be
/// pointed to.
const MAX_POINTER: usize = 0x3FFF;
/// At most this many names are remembered as pointer targets while emitting.
const MAX_TARGETS: usize = 32;

/// A DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Message {
    /// The ID and flags.
    pub header: Header,
    /// The question section.
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authorities: Vec<Record>,
    /// The additional section.
    pub additionals: Vec<Record>,
}

impl Message {
    /// Parses a message. Octets after the last record of the additional
    /// section are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let id = r.u16()?;
        let flags = r.u16()?;
        let qdcount = usize::from(r.u16()?);
        let ancount = usize::from(r.u16()?);
        let nscount = usize::from(r.u16()?);
        let arcount = usize::from(r.u16()?);
        // Counts no message of this length can hold fail here, before
        // anything is parsed; the sections grow entry by entry, each taking
        // octets of the message.
        let least = qdcount * MIN_QUESTION_LEN + (ancount + nscount + arcount) * MIN_RECORD_LEN;
        if least > r.remaining() {
            return Err(Error::Truncated);
        }
        let header = Header::from_fields(id, flags);
        //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.1
        //# QDCOUNT         an unsigned 16 bit integer specifying the number of
        //#                 entries in the question section.
        let questions = (0..qdcount)
            .map(|_| Question::parse(&mut r))
            .collect::<Result<Vec<_>>>()?;
        let mut records = |count: usize| {
            (0..count)
                .map(|_| Record::parse(&mut r))
                .collect::<Result<Vec<_>>>()
        };
        let answers = records(ancount)?;
        let authorities = records(nscount)?;
        let additionals = records(arcount)?;
        Ok(Self {
            header,
            questions,
            answers,
            authorities,
            additionals,
        })
    }

    /// A standard query for `name` and `qtype` in class IN, with recursion
    /// desired.
    pub fn query(id: u16, name: Name, qtype: RecordType) -> Self {
        Self {
            header: Header {
                id,
                recursion_desired: true,
                ..Header::default()
            },
            questions: vec![Question {
                name,
                qtype,
                qclass: Class::IN,
            }],
            ..Self::default()
        }
    }

    /// The response to this query with `rcode` and the question echoed, for
    /// the caller to add records to: same ID and opcode, QR set, RD copied,
    /// RA set (the caller answers whatever the name), no answers yet. With
    /// [`Rcode::NOERROR`] and no answers added it is a NODATA response
    /// (RFC 2308 section 2.2).
    pub fn response(&self, rcode: Rcode) -> Self {
        Self {
            //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.1
            //# A 16 bit identifier assigned by the program that
            //# generates any kind of query.  This identifier is copied
            //# the corresponding reply and can be used by the
            //# requester to match up replies to outstanding queries.
            header: Header {
                id: self.header.id,
                response: true,
                //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.1
                //# This value is set by the originator of a query
                //# and copied into the response.
                opcode: self.header.opcode,
                //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.1
                //# Recursion Desired - this bit may be set in a query and
                //# is copied into the response.
                recursion_desired: self.header.recursion_desired,
                recursion_available: true,
                rcode,
                ..Header::default()
            },
            questions: self.questions.clone(),
            ..Self::default()
        }
    }

    /// Adds an answer record of class IN for the first question's name.
    /// Does nothing when there is no question.
    pub fn add_answer(&mut self, ttl: u32, data: RecordData) {
        if let Some(q) = self.questions.first() {
            self.answers.push(Record::new(q.name.clone(), ttl, data));
        }
    }

    /// Appends the message to `out` (it starts at `out.len()`: compression
    /// pointers count from there). Names are written whole the first time
    /// and as a pointer to that copy when they recur. On error `out` is left
    /// as it was.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<()> {
        let base = out.len();
        let result = self.emit_at(out, base);
        if result.is_err() {
            out.truncate(base);
        }
        result
    }

    /// The message as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.emit(&mut out)?;
        Ok(out)
    }

    /// Appends the message to `out` with the two-octet length that frames it
    /// over TCP (RFC 1035 section 4.2.2); [`Error::TooLong`] when longer than
    /// 65535 octets.
    pub fn emit_tcp(&self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.extend_from_slice(&[0, 0]);
        let result = self.emit_at(out, start + 2).and_then(|()| {
            let len = u16::try_from(out.len() - start - 2).map_err(|_| Error::TooLong)?;
            out[start..start + 2].copy_from_slice(&len.to_be_bytes());
            Ok(())
        });
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn emit_at(&self, out: &mut Vec<u8>, base: usize) -> Result<()> {
        let count = |n: usize| u16::try_from(n).map_err(|_| Error::TooLong);
        let counts = [
            count(self.questions.len())?,
            count(self.answers.len())?,
            count(self.authorities.len())?,
            count(self.additionals.len())?,
        ];
        out.extend_from_slice(&self.header.id.to_be_bytes());
        out.extend_from_slice(&self.header.flags().to_be_bytes());
        for c in counts {
            out.extend_from_slice(&c.to_be_bytes());
        }
        let mut names = Names::new(base);
        for q in &self.questions {
            names.write(out, &q.name);
            out.extend_from_slice(&q.qtype.0.to_be_bytes());
            out.extend_from_slice(&q.qclass.0.to_be_bytes());
        }
        let records = self
            .answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals);
        for record in records {
            names.write(out, &record.name);
            out.extend_from_slice(&record.rtype().0.to_be_bytes());
            out.extend_from_slice(&record.class.0.to_be_bytes());
            out.extend_from_slice(&record.ttl.to_be_bytes());
            let len_at = out.len();
            out.extend_from_slice(&[0, 0]);
            match &record.data {
                RecordData::A(addr) => out.extend_from_slice(&addr.octets()),
                RecordData::Aaaa(addr) => out.extend_from_slice(&addr.octets()),
                RecordData::Cname(target) => names.write(out, target),
                RecordData::Other { data, .. } => out.extend_from_slice(data),
            }
            let len = u16::try_from(out.len() - len_at - 2).map_err(|_| Error::TooLong)?;
            out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }
}

/// The names written so far, as pointer targets.
struct Names {
    /// Where the message starts in the output.
    base: usize,
    /// Offsets (from `base`) and lengths of names written whole.
    written: Vec<(usize, usize)>,
}

impl Names {
    fn new(base: usize) -> Self {
        Self {
            base,
            written: Vec::new(),
        }
    }

    /// Writes `name`: a pointer to an earlier copy of the same octets, or
    /// the name whole.
    fn write(&mut self, out: &mut Vec<u8>, name: &Name) {
        let wire = name.as_wire();
        //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.4
        //# Programs are free to avoid using pointers in messages they generate,
        //# although this will reduce datagram capacity, and may cause
        //# truncation.  However all programs are required to understand
        //# arriving messages that contain pointers.
        if wire.len() > 2 {
            let base = self.base;
            let earlier = self
                .written
                .iter()
                .find(|&&(at, len)| out.get(base + at..base + at + len) == Some(wire));
            if let Some(&(at, _)) = earlier {
                //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.4
                //# The first two bits are ones.  This allows a pointer to be
                //# distinguished from a label, since the label must begin with two
                //# zero bits because labels are restricted to 63 octets or less.
                let pointer = 0xC000 | at as u16;
                out.extend_from_slice(&pointer.to_be_bytes());
                return;
            }
        }
        let at = out.len() - self.base;
        out.extend_from_slice(wire);
        if at <= MAX_POINTER && wire.len() > 2 && self.written.len() < MAX_TARGETS {
            self.written.push((at, wire.len()));
        }
    }
}
