//! Sans-I/O framing: Kafka requests are a big-endian `i32` length followed by that many bytes.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::FrameError;

const RESERVE_STEP: usize = 1 << 20;

/// Splits one complete frame off the front of `buf`, if there is one.
///
/// Returns `Ok(None)` when more bytes are needed. The size check happens as soon as the four
/// length bytes are in, so an oversized frame is refused before its body is buffered.
pub fn parse_frame(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len < 0 {
        return Err(FrameError::NegativeLength(len));
    }
    let len = len as usize;
    if len > max_frame {
        return Err(FrameError::TooLarge {
            len,
            max: max_frame,
        });
    }
    // The smallest request header is api key + version + correlation id + client id length.
    if len < 10 {
        return Err(FrameError::TooSmall(len));
    }
    if buf.len() < 4 + len {
        // Grow towards the announced size in steps, so a peer that announces a large frame
        // and then stalls does not pin the whole size in memory up front.
        buf.reserve((4 + len - buf.len()).min(RESERVE_STEP));
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Prefixes `body` with its length.
pub fn write_frame(out: &mut BytesMut, body: &[u8]) {
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        write_frame(&mut out, body);
        out
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let full = framed(&[7u8; 20]);
        for cut in 0..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(parse_frame(&mut buf, 100).unwrap(), None, "cut at {cut}");
        }
        let mut buf = full.clone();
        assert_eq!(parse_frame(&mut buf, 100).unwrap().unwrap().len(), 20);
        assert!(buf.is_empty());
    }

    #[test]
    fn pipelined_frames_come_out_in_order() {
        let mut buf = framed(&[1u8; 12]);
        buf.extend_from_slice(&framed(&[2u8; 13]));
        buf.extend_from_slice(&framed(&[3u8; 14])[..5]);
        assert_eq!(parse_frame(&mut buf, 100).unwrap().unwrap()[0], 1);
        assert_eq!(parse_frame(&mut buf, 100).unwrap().unwrap()[0], 2);
        assert_eq!(parse_frame(&mut buf, 100).unwrap(), None);
    }

    #[test]
    fn oversized_negative_and_tiny_frames_are_errors() {
        let mut buf = BytesMut::from(&1000i32.to_be_bytes()[..]);
        assert!(matches!(
            parse_frame(&mut buf, 100),
            Err(FrameError::TooLarge { .. })
        ));
        let mut buf = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert!(matches!(
            parse_frame(&mut buf, 100),
            Err(FrameError::NegativeLength(-1))
        ));
        let mut buf = framed(&[0u8; 3]);
        assert!(matches!(
            parse_frame(&mut buf, 100),
            Err(FrameError::TooSmall(3))
        ));
    }
}
