//! Lossless PNG captures to the yuv420p frames x264 encodes, in this
//! process: BT.709, limited range, each sample the exact conversion of
//! the page's pixels rounded to nearest.
//!
//! Why here and not in ffmpeg: for flat graphics, decoding PNG and
//! converting RGB in ffmpeg (swscale) cost about 27 ms per 1080p frame
//! beside x264's 15; this module does both in about 5, and ffmpeg then only
//! encodes. swscale also rounds chroma down (a #0f172a background's Cr is
//! 123.72; swscale writes 123, this writes 124).
//!
//! Why not a SIMD crate: chunks of one plan must be byte-identical on every
//! worker, and a converter that picks its own code path per CPU need not
//! give the same bytes on each. This is integer arithmetic only, so the
//! AVX2 build of the same loops (picked at run time, see `Avx2`) gives
//! exactly the bytes of the baseline one; a test checks that.

/// BT.709 limited range in exact integer arithmetic. With Kr = 0.2126 and
/// Kb = 0.0722 as decimals, every sample is a ratio of integers:
/// Y  = 16 + 73 (2126 R + 7152 G + 722 B) / 850000,
/// Cb = 128 + 14 (9278 B - 2126 R - 7152 G) / (255 x 4639),
/// Cr = 128 + 14 (7874 R - 7152 G - 722 B) / (255 x 3937),
/// (219/255 and 224/255 with the BT.709 denominators, reduced), rounded
/// half up. Chroma takes sums of four pixels: with that factor 4,
/// 224 / (4 x 255 x 1.8556) reduces to 14 / (255 x 4639), and likewise
/// for Cr. All intermediates stay below 2^30.
const Y_DEN: u32 = 850_000;
const CB_DEN: u32 = 255 * 4639;
const CR_DEN: u32 = 255 * 3937;

#[inline(always)]
fn luma(r: u32, g: u32, b: u32) -> u8 {
    let s = 2126 * r + 7152 * g + 722 * b;
    ((2 * (16 * Y_DEN + 73 * s) + Y_DEN) / (2 * Y_DEN)) as u8
}

/// `r`, `g`, `b` are sums of four pixels (a 2x2 block).
#[inline(always)]
fn chroma(r: u32, g: u32, b: u32) -> (u8, u8) {
    let cb = 2 * (128 * CB_DEN + 14 * 9278 * b) - 2 * 14 * (2126 * r + 7152 * g);
    let cr = 2 * (128 * CR_DEN + 14 * 7874 * r) - 2 * 14 * (7152 * g + 722 * b);
    (
        ((cb + CB_DEN) / (2 * CB_DEN)) as u8,
        ((cr + CR_DEN) / (2 * CR_DEN)) as u8,
    )
}

/// Frame size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// Bytes of one yuv420p frame (chroma planes round up for odd sizes).
    pub fn yuv420_len(self) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        w * h + 2 * w.div_ceil(2) * h.div_ceil(2)
    }
}

/// A captured frame that could not be converted, and why.
#[derive(Debug)]
pub struct FrameError(pub String);

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "captured PNG frame: {}", self.0)
    }
}

impl std::error::Error for FrameError {}

/// Decodes one PNG capture and writes its yuv420p frame into `out`
/// (resized to [`Size::yuv420_len`]).
///
/// Chromium's 8-bit RGB(A) captures are converted two rows at a time as
/// they are inflated, so a frame never exists as a whole RGB buffer: at
/// 1080p that buffer was 6 MB of fresh pages per frame, and decoding into
/// it then converting from it cost 8-11 ms per frame against about 5 this
/// way (the peer project's 300 captures, on this 2-core VM).
pub fn png_to_yuv420(png_bytes: &[u8], size: Size, out: &mut Vec<u8>) -> Result<(), FrameError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(bad)?;
    let info = reader.info();
    if (info.width, info.height) != (size.width, size.height) {
        return Err(FrameError(format!(
            "it is {}x{}, the composition {}x{}",
            info.width, info.height, size.width, size.height
        )));
    }
    out.resize(size.yuv420_len(), 0);
    let streamed = match reader.output_color_type() {
        _ if reader.info().interlaced => None,
        (png::ColorType::Rgb, png::BitDepth::Eight) => Some(3),
        (png::ColorType::Rgba, png::BitDepth::Eight) => Some(4),
        _ => None,
    };
    let Some(channels) = streamed else {
        let (rgb, channels) = decode_whole(reader)?;
        convert(&rgb, channels, size, out);
        return Ok(());
    };
    let mut planes = Planes::new(out, size);
    let avx2 = Avx2::detect();
    let line = reader
        .output_line_size(size.width)
        .ok_or_else(|| FrameError("its rows are too large".into()))?;
    let (mut top, mut bottom) = (vec![0; line], vec![0; line]);
    for r in 0..planes.chroma_rows() {
        read_row(&mut reader, &mut top)?;
        if planes.has_second_row(r) {
            read_row(&mut reader, &mut bottom)?;
            planes.convert_pair(r, &top, Some(&bottom), channels, avx2);
        } else {
            planes.convert_pair(r, &top, None, channels, avx2);
        }
    }
    // Past the last row the reader inflates the rest of the image data and
    // checks its CRCs: without this a capture cut or corrupted near its end
    // would convert without an error.
    if reader.read_row(&mut top).map_err(bad)?.is_some() {
        return Err(FrameError("it has more rows than its height".into()));
    }
    Ok(())
}

/// The next row of a non-interlaced image, into `row`.
fn read_row<R: std::io::BufRead + std::io::Seek>(
    reader: &mut png::Reader<R>,
    row: &mut [u8],
) -> Result<(), FrameError> {
    match reader.read_row(row).map_err(bad)? {
        Some(_) => Ok(()),
        None => Err(FrameError("it ends before its last row".into())),
    }
}

fn bad(e: impl std::fmt::Display) -> FrameError {
    FrameError(e.to_string())
}

/// The whole image as 8-bit RGB(A), for what Chromium does not write
/// today (interlaced, palette, grey, 16-bit), expanded rather than refused.
fn decode_whole<R: std::io::BufRead + std::io::Seek>(
    mut reader: png::Reader<R>,
) -> Result<(Vec<u8>, usize), FrameError> {
    let len = reader
        .output_buffer_size()
        .ok_or_else(|| FrameError("too large".into()))?;
    let mut pixels = vec![0; len];
    let frame = reader.next_frame(&mut pixels).map_err(bad)?;
    pixels.truncate(frame.buffer_size());
    match frame.color_type {
        png::ColorType::Rgb => Ok((pixels, 3)),
        png::ColorType::Rgba => Ok((pixels, 4)),
        png::ColorType::Grayscale => Ok((pixels.iter().flat_map(|&v| [v, v, v]).collect(), 3)),
        png::ColorType::GrayscaleAlpha => Ok((
            pixels
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0]])
                .collect(),
            3,
        )),
        c => Err(FrameError(format!(
            "{c:?} after expansion; expected 8-bit RGB(A)"
        ))),
    }
}

/// Proof that the CPU runs AVX2: only [`Avx2::detect`] makes one, so the
/// AVX2 build of the loops is called only where it may run.
#[derive(Debug, Clone, Copy)]
struct Avx2(());

impl Avx2 {
    fn detect() -> Option<Avx2> {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            return Some(Avx2(()));
        }
        None
    }
}

/// The three planes of one yuv420p frame, filled two pixel rows (one
/// chroma row) at a time.
struct Planes<'a> {
    y: &'a mut [u8],
    cb: &'a mut [u8],
    cr: &'a mut [u8],
    width: usize,
    height: usize,
}

impl<'a> Planes<'a> {
    fn new(out: &'a mut [u8], size: Size) -> Self {
        let (width, height) = (size.width as usize, size.height as usize);
        let chroma = width.div_ceil(2) * height.div_ceil(2);
        let (y, rest) = out.split_at_mut(width * height);
        let (cb, cr) = rest.split_at_mut(chroma);
        Planes {
            y,
            cb,
            cr,
            width,
            height,
        }
    }

    fn chroma_rows(&self) -> usize {
        self.height.div_ceil(2)
    }

    /// Whether chroma row `r` has two pixel rows (an odd last row pairs
    /// with itself).
    fn has_second_row(&self, r: usize) -> bool {
        2 * r + 1 < self.height
    }

    /// Pixel rows `2r` and `2r + 1` (`bottom`, absent for an odd last row)
    /// to their luma rows and chroma row `r`, with the AVX2 build of the
    /// same loops when given `avx2` (identical bytes, see the module doc).
    fn convert_pair(
        &mut self,
        r: usize,
        top: &[u8],
        bottom: Option<&[u8]>,
        channels: usize,
        avx2: Option<Avx2>,
    ) {
        let (w, cw) = (self.width, self.width.div_ceil(2));
        let (y_top, y_rest) = self.y[2 * r * w..].split_at_mut(w);
        let y_bottom = bottom.map(|_| &mut y_rest[..w]);
        let rows = RowPair {
            top,
            bottom: bottom.unwrap_or(top),
            y_top,
            y_bottom,
            cb: &mut self.cb[r * cw..(r + 1) * cw],
            cr: &mut self.cr[r * cw..(r + 1) * cw],
        };
        #[cfg(target_arch = "x86_64")]
        if avx2.is_some() {
            // SAFETY: an `Avx2` exists only where the CPU has AVX2.
            unsafe { rows.convert_avx2(channels) };
            return;
        }
        let _ = avx2;
        rows.convert_portable(channels);
    }
}

/// Two pixel rows and the samples they make.
struct RowPair<'a> {
    top: &'a [u8],
    bottom: &'a [u8],
    y_top: &'a mut [u8],
    y_bottom: Option<&'a mut [u8]>,
    cb: &'a mut [u8],
    cr: &'a mut [u8],
}

impl RowPair<'_> {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn convert_avx2(self, channels: usize) {
        self.convert_portable(channels);
    }

    /// Monomorphised per channel count, so the loops have a constant
    /// stride and vectorise.
    #[inline(always)]
    fn convert_portable(self, channels: usize) {
        match channels {
            3 => self.convert_n::<3>(),
            _ => self.convert_n::<4>(),
        }
    }

    #[inline(always)]
    fn convert_n<const C: usize>(self) {
        luma_row::<C>(self.top, self.y_top);
        if let Some(y) = self.y_bottom {
            luma_row::<C>(self.bottom, y);
        }
        chroma_row::<C>(self.top, self.bottom, self.cb, self.cr);
    }
}

/// RGB(A) rows to yuv420p, two rows at a time (see [`Planes`]).
fn convert(rgb: &[u8], channels: usize, size: Size, out: &mut [u8]) {
    convert_with(rgb, channels, size, out, Avx2::detect());
}

fn convert_with(rgb: &[u8], channels: usize, size: Size, out: &mut [u8], avx2: Option<Avx2>) {
    let stride = size.width as usize * channels;
    let mut planes = Planes::new(out, size);
    for r in 0..planes.chroma_rows() {
        let top = &rgb[2 * r * stride..(2 * r + 1) * stride];
        let bottom = planes
            .has_second_row(r)
            .then(|| &rgb[(2 * r + 1) * stride..(2 * r + 2) * stride]);
        planes.convert_pair(r, top, bottom, channels, avx2);
    }
}

#[inline(always)]
fn luma_row<const C: usize>(row: &[u8], out: &mut [u8]) {
    for (px, y) in row.chunks_exact(C).zip(out.iter_mut()) {
        *y = luma(u32::from(px[0]), u32::from(px[1]), u32::from(px[2]));
    }
}

/// One row of Cb and Cr from two rows of pixels, each sample from its
/// 2x2 block (centred chroma, as JPEG and swscale's default place it).
#[inline(always)]
fn chroma_row<const C: usize>(top: &[u8], bottom: &[u8], cb: &mut [u8], cr: &mut [u8]) {
    let pairs = top.chunks_exact(2 * C).zip(bottom.chunks_exact(2 * C));
    for ((a, b), (cb, cr)) in pairs.zip(cb.iter_mut().zip(cr.iter_mut())) {
        let sum = |i: usize| {
            u32::from(a[i]) + u32::from(a[C + i]) + u32::from(b[i]) + u32::from(b[C + i])
        };
        (*cb, *cr) = chroma(sum(0), sum(1), sum(2));
    }
    // An odd last column: its block is that column's two pixels, twice.
    if top.len() % (2 * C) != 0 {
        let (a, b) = (&top[top.len() - C..], &bottom[bottom.len() - C..]);
        let sum = |i: usize| 2 * (u32::from(a[i]) + u32::from(b[i]));
        if let (Some(cb), Some(cr)) = (cb.last_mut(), cr.last_mut()) {
            (*cb, *cr) = chroma(sum(0), sum(1), sum(2));
        }
    }
}

/// A PNG of `pixels` (the tests' frames, here and in the sink's).
#[cfg(test)]
pub(crate) fn test_png(
    pixels: &[u8],
    size: Size,
    colour: png::ColorType,
    depth: png::BitDepth,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, size.width, size.height);
    enc.set_color(colour);
    enc.set_depth(depth);
    enc.write_header()
        .unwrap()
        .write_image_data(pixels)
        .unwrap();
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(rgb: [u8; 3], size: Size) -> Vec<u8> {
        let n = (size.width * size.height) as usize;
        let pixels: Vec<u8> = (0..n).flat_map(|_| rgb).collect();
        let mut out = vec![0; size.yuv420_len()];
        convert(&pixels, 3, size, &mut out);
        out
    }

    /// BT.709 limited range, computed in floating point and rounded.
    fn exact(rgb: [u8; 3]) -> [u8; 3] {
        let [r, g, b] = rgb.map(f64::from);
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let k = 224.0 / 255.0;
        [
            16.0 + 219.0 / 255.0 * y,
            128.0 + k * (b - y) / 1.8556,
            128.0 + k * (r - y) / 1.5748,
        ]
        .map(|v| v.round() as u8)
    }

    #[test]
    fn flat_colours_are_the_exact_bt709_values() {
        let size = Size {
            width: 4,
            height: 2,
        };
        for rgb in [
            [0x0f, 0x17, 0x2a],
            [0x63, 0x66, 0xf1],
            [255, 0, 0],
            [0, 192, 0],
            [0, 0, 0],
            [255, 255, 255],
            [240, 192, 32],
        ] {
            let out = flat(rgb, size);
            let want = exact(rgb);
            assert_eq!([out[0], out[8], out[10]], want, "{rgb:?}");
            assert!(out[..8].iter().all(|&y| y == want[0]), "{rgb:?}: {out:?}");
        }
        // The background of the peer's project, where swscale writes Cr 123.
        assert_eq!(exact([0x0f, 0x17, 0x2a]), [35, 137, 124]);
    }

    /// The same values by rational arithmetic in the textbook form, over a
    /// grid of the RGB cube (every 5th level, the extremes included).
    #[test]
    fn every_sample_is_the_exact_value_rounded_half_up() {
        let round = |num: i128, den: i128| ((2 * num + den).div_euclid(2 * den)) as u8;
        let levels: Vec<u32> = (0..=255).step_by(5).chain([254, 255]).collect();
        for &r in &levels {
            for &g in &levels {
                for &b in &levels {
                    let (ri, gi, bi) = (i128::from(r), i128::from(g), i128::from(b));
                    // Y' x 10000 with Kr, Kg, Kb as decimals.
                    let y = 2126 * ri + 7152 * gi + 722 * bi;
                    let want_y = round(16 * 2_550_000 + 219 * y, 2_550_000);
                    // (B - Y') / 1.8556 and (R - Y') / 1.5748, times 224/255.
                    let want_cb = round(128 * 255 * 18556 + 224 * (10000 * bi - y), 255 * 18556);
                    let want_cr = round(128 * 255 * 15748 + 224 * (10000 * ri - y), 255 * 15748);
                    let (cb, cr) = chroma(4 * r, 4 * g, 4 * b);
                    assert_eq!(
                        [luma(r, g, b), cb, cr],
                        [want_y, want_cb, want_cr],
                        "({r},{g},{b})"
                    );
                }
            }
        }
    }

    #[test]
    fn odd_sizes_fill_every_plane() {
        let size = Size {
            width: 3,
            height: 3,
        };
        assert_eq!(size.yuv420_len(), 9 + 2 * 4);
        let out = flat([0x63, 0x66, 0xf1], size);
        let want = exact([0x63, 0x66, 0xf1]);
        assert!(out[..9].iter().all(|&y| y == want[0]), "{out:?}");
        assert!(out[9..13].iter().all(|&c| c == want[1]), "{out:?}");
        assert!(out[13..].iter().all(|&c| c == want[2]), "{out:?}");
    }

    #[test]
    fn the_avx2_build_gives_the_portable_bytes() {
        let size = Size {
            width: 97,
            height: 31,
        };
        // Every byte value, in an order no SIMD lane width lines up with.
        let pixels: Vec<u8> = (0..size.width * size.height * 4)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for channels in [3, 4] {
            let rgb = &pixels[..(size.width * size.height) as usize * channels];
            let mut portable = vec![0; size.yuv420_len()];
            convert_with(rgb, channels, size, &mut portable, None);
            let mut dispatched = vec![0; size.yuv420_len()];
            convert(rgb, channels, size, &mut dispatched);
            assert_eq!(portable, dispatched, "{channels} channels");
        }
    }

    /// The streamed path (rows converted as they are inflated) against the
    /// whole-image conversion, on odd and even sizes, RGB and RGBA.
    #[test]
    fn streamed_rows_give_the_bytes_of_the_whole_image() {
        for (width, height) in [(97, 31), (96, 30), (1, 1), (2, 3)] {
            let size = Size { width, height };
            let pixels: Vec<u8> = (0..width * height * 4)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
                .collect();
            for (channels, colour) in [(3, png::ColorType::Rgb), (4, png::ColorType::Rgba)] {
                let rgb = &pixels[..(width * height) as usize * channels];
                let mut whole = vec![0; size.yuv420_len()];
                convert(rgb, channels, size, &mut whole);
                let mut streamed = Vec::new();
                png_to_yuv420(
                    &test_png(rgb, size, colour, png::BitDepth::Eight),
                    size,
                    &mut streamed,
                )
                .unwrap();
                assert_eq!(streamed, whole, "{width}x{height}, {channels} channels");
            }
        }
    }

    /// Cut anywhere, or with the last image data's CRC wrong, a capture
    /// is an error: the reader is run past the last row, where it checks
    /// the end of the compressed data.
    #[test]
    fn a_truncated_or_corrupt_png_is_an_error_naming_the_frame() {
        let size = Size {
            width: 64,
            height: 16,
        };
        let pixels: Vec<u8> = (0..64 * 16 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let bytes = test_png(&pixels, size, png::ColorType::Rgb, png::BitDepth::Eight);
        let mut out = Vec::new();
        png_to_yuv420(&bytes, size, &mut out).unwrap();
        // IEND is the last 12 bytes; the cuts run through the IDAT's
        // compressed tail and CRC (the first ones lose no row).
        let idat_end = bytes.len() - 12;
        // Cutting 12 bytes or fewer loses only IEND: rows and CRCs intact.
        for cut in (13..=28).chain([bytes.len() / 2]) {
            let e = png_to_yuv420(&bytes[..bytes.len() - cut], size, &mut out)
                .expect_err(&format!("cut {cut} bytes"));
            assert!(e.to_string().starts_with("captured PNG frame: "), "{e}");
        }
        let mut bad_crc = bytes.clone();
        bad_crc[idat_end - 1] ^= 0xff;
        let e = png_to_yuv420(&bad_crc, size, &mut out).unwrap_err();
        assert!(e.to_string().starts_with("captured PNG frame: "), "{e}");
    }

    #[test]
    fn grey_and_16_bit_pngs_are_expanded() {
        let size = Size {
            width: 2,
            height: 2,
        };
        for (colour, depth, data) in [
            (
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                vec![255u8; 4],
            ),
            (png::ColorType::Rgb, png::BitDepth::Sixteen, vec![255u8; 24]),
        ] {
            let bytes = test_png(&data, size, colour, depth);
            let mut out = Vec::new();
            png_to_yuv420(&bytes, size, &mut out).unwrap();
            assert_eq!(out, [235, 235, 235, 235, 128, 128], "{colour:?} {depth:?}");
        }
    }

    #[test]
    fn a_png_of_another_size_is_refused() {
        let size = Size {
            width: 2,
            height: 2,
        };
        let png_bytes = test_png(&[0; 12], size, png::ColorType::Rgb, png::BitDepth::Eight);
        let mut out = Vec::new();
        png_to_yuv420(&png_bytes, size, &mut out).unwrap();
        assert_eq!(out.len(), size.yuv420_len());
        assert_eq!(out[0], 16);
        let e = png_to_yuv420(
            &png_bytes,
            Size {
                width: 4,
                height: 2,
            },
            &mut out,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("it is 2x2, the composition 4x2"),
            "{e}"
        );
    }
}
