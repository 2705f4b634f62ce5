use super::*;

const CODECS: [u8; 4] = [1, 2, 3, 4];

/// Not all zeros, so no codec's output is degenerate, but highly compressible.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 / 16).collect()
}

fn too_large(r: Result<Bytes, LogError>) -> bool {
    matches!(r, Err(LogError::DecompressedTooLarge { .. }))
}

#[test]
fn every_codec_inflates_exactly_to_the_bound_and_refuses_one_byte_more() {
    // 100 000 bytes spans several snappy blocks (32 KiB each) and lz4 blocks.
    for bound in [0usize, 1, 100_000] {
        for codec in CODECS {
            let at = payload(bound);
            let z = compress(codec, &at, 7).unwrap();
            let out = decompress(codec, &z, 7, bound).unwrap();
            assert_eq!(&out[..], &at[..], "codec {codec} at bound {bound}");

            let over = payload(bound + 1);
            let z = compress(codec, &over, 7).unwrap();
            match decompress(codec, &z, 7, bound) {
                Err(LogError::DecompressedTooLarge {
                    base_offset: 7,
                    codec: c,
                    max,
                }) => assert_eq!((c, max), (codec, bound)),
                other => panic!("codec {codec} at bound {bound} + 1: {other:?}"),
            }
            // A bound one larger takes it.
            assert_eq!(&decompress(codec, &z, 7, bound + 1).unwrap()[..], &over[..]);
        }
    }
}

#[test]
fn a_bomb_stops_at_the_bound_for_every_codec() {
    let bomb = vec![0u8; 16 << 20];
    for codec in CODECS {
        let z = compress(codec, &bomb, 0).unwrap();
        assert!(z.len() < 1 << 20, "codec {codec}: {} bytes", z.len());
        assert!(
            too_large(decompress(codec, &z, 0, 1 << 20)),
            "codec {codec}"
        );
    }
}

#[test]
fn raw_snappy_as_librdkafka_writes_it_is_bounded_by_its_stated_length() {
    let data = payload(70_000);
    let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
    assert!(!raw.starts_with(XERIAL_MAGIC));
    assert_eq!(&decompress(2, &raw, 0, 70_000).unwrap()[..], &data[..]);
    assert!(too_large(decompress(2, &raw, 0, 69_999)));
}

#[test]
fn xerial_snappy_matches_kafka_protocol_framing() {
    // kafka-protocol's own test vector: the framed records section of one small record.
    let framed: &[u8] = b"\x82\x53\x4e\x41\x50\x50\x59\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x0f\x0d\x30\x18\x00\x00\x00\x01\x0csdfdsf\x00";
    let fallback: &[u8] = b"\r0\x18\0\0\0\x01\x0csdfdsf\0";
    let a = decompress(2, framed, 0, 1 << 20).unwrap();
    let b = decompress(2, fallback, 0, 1 << 20).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 13);
    assert!(too_large(decompress(2, framed, 0, 12)));
    // The magic alone is an empty stream; a torn block length or block is corrupt.
    assert!(decompress(2, XERIAL_MAGIC, 0, 0).unwrap().is_empty());
    for torn in [&framed[..18], &framed[..25]] {
        assert!(matches!(
            decompress(2, torn, 0, 1 << 20),
            Err(LogError::Compression { .. })
        ));
    }
}

#[test]
fn corrupt_input_is_a_codec_error_not_a_bound_error() {
    for codec in CODECS {
        let r = decompress(codec, b"definitely not compressed", 3, 1 << 20);
        assert!(
            matches!(r, Err(LogError::Compression { base_offset: 3, .. })),
            "codec {codec}: {r:?}"
        );
    }
    assert!(matches!(
        decompress(9, b"x", 0, 10),
        Err(LogError::Compression { codec: 9, .. })
    ));
}
