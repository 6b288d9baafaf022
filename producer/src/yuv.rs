//! Lossless PNG captures to the yuv420p frames x264 encodes, in this
//! process: BT.709, limited range, each sample the exact conversion of
//! the page's pixels rounded to nearest.
//!
//! Why here and not in ffmpeg: for flat graphics, decoding PNG and
//! converting RGB in ffmpeg (swscale) cost about 27 ms per 1080p frame
//! beside x264's 15; this module does both in about 6, and ffmpeg then only
//! encodes. swscale also rounds chroma down (a #0f172a background's Cr is
//! 123.72; swscale writes 123, this writes 124).
//!
//! Why not a SIMD crate: chunks of one plan must be byte-identical on every
//! worker, and a converter that picks its own code path per CPU need not
//! give the same bytes on each. This is integer arithmetic only, so the
//! AVX2 build of the same loop ([`convert`] picks it at run time) gives
//! exactly the bytes of the baseline one; a test checks that.

use crate::errors::{ProducerError, Result};

/// Fixed-point (x 2^16) BT.709 coefficients, scaled to the limited range:
/// Y' = 16 + 219/255 (Kr R + Kg G + Kb B), Cb and Cr = 128 + 224/255 x ...
const Y_R: i32 = 11966;
const Y_G: i32 = 40254;
const Y_B: i32 = 4064;
const CB_R: i32 = -6596;
const CB_G: i32 = -22189;
const CB_B: i32 = 28784;
const CR_R: i32 = 28784;
const CR_G: i32 = -26145;
const CR_B: i32 = -2639;

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

/// Decodes one PNG capture and writes its yuv420p frame into `out`
/// (resized to [`Size::yuv420_len`]).
pub fn png_to_yuv420(png_bytes: &[u8], size: Size, out: &mut Vec<u8>) -> Result<()> {
    let (rgb, channels) = decode_png(png_bytes, size)?;
    out.resize(size.yuv420_len(), 0);
    convert(&rgb, channels, size, out);
    Ok(())
}

/// 8-bit RGB or RGBA pixels of `png_bytes`, which must be `size`.
fn decode_png(png_bytes: &[u8], size: Size) -> Result<(Vec<u8>, usize)> {
    let bad = |m: String| ProducerError::EncodeFailed(format!("captured PNG frame: {m}"));
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .map_err(|e| bad(e.to_string()))?;
    let info = reader.info();
    if (info.width, info.height) != (size.width, size.height) {
        return Err(bad(format!(
            "it is {}x{}, the composition {}x{}",
            info.width, info.height, size.width, size.height
        )));
    }
    let channels = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        (c, d) => return Err(bad(format!("{c:?} at {d:?} bits; expected 8-bit RGB(A)"))),
    };
    let len = reader
        .output_buffer_size()
        .ok_or_else(|| bad("too large".into()))?;
    let mut rgb = vec![0; len];
    let frame = reader
        .next_frame(&mut rgb)
        .map_err(|e| bad(e.to_string()))?;
    rgb.truncate(frame.buffer_size());
    Ok((rgb, channels))
}

/// RGB(A) rows to yuv420p, with the AVX2 build of the same loops where the
/// CPU has it (identical bytes, see the module doc).
fn convert(rgb: &[u8], channels: usize, size: Size, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { convert_avx2(rgb, channels, size, out) };
        return;
    }
    convert_portable(rgb, channels, size, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convert_avx2(rgb: &[u8], channels: usize, size: Size, out: &mut [u8]) {
    convert_portable(rgb, channels, size, out);
}

#[inline(always)]
fn convert_portable(rgb: &[u8], channels: usize, size: Size, out: &mut [u8]) {
    let (w, h) = (size.width as usize, size.height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let stride = w * channels;
    let (y_plane, chroma) = out.split_at_mut(w * h);
    let (cb_plane, cr_plane) = chroma.split_at_mut(cw * ch);
    for (row, y_row) in rgb.chunks_exact(stride).zip(y_plane.chunks_exact_mut(w)) {
        luma_row(row, channels, y_row);
    }
    for r in 0..ch {
        let top = &rgb[2 * r * stride..(2 * r + 1) * stride];
        // An odd last row pairs with itself.
        let bottom_row = (2 * r + 1).min(h - 1);
        let bottom = &rgb[bottom_row * stride..(bottom_row + 1) * stride];
        let cb = &mut cb_plane[r * cw..(r + 1) * cw];
        let cr = &mut cr_plane[r * cw..(r + 1) * cw];
        chroma_row(top, bottom, channels, cb, cr);
    }
}

#[inline(always)]
fn luma_row(row: &[u8], channels: usize, out: &mut [u8]) {
    for (px, y) in row.chunks_exact(channels).zip(out.iter_mut()) {
        let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
        *y = ((Y_R * r + Y_G * g + Y_B * b + (16 << 16) + (1 << 15)) >> 16) as u8;
    }
}

/// One row of Cb and Cr from two rows of pixels, each sample from the
/// mean of its 2x2 block (centred chroma, as JPEG and swscale's default
/// place it).
#[inline(always)]
fn chroma_row(top: &[u8], bottom: &[u8], channels: usize, cb: &mut [u8], cr: &mut [u8]) {
    let pair = 2 * channels;
    let pairs = top.chunks_exact(pair).zip(bottom.chunks_exact(pair));
    for ((a, b), (cb, cr)) in pairs.zip(cb.iter_mut().zip(cr.iter_mut())) {
        let sum = |i: usize| {
            i32::from(a[i])
                + i32::from(a[channels + i])
                + i32::from(b[i])
                + i32::from(b[channels + i])
        };
        put_chroma(sum(0), sum(1), sum(2), cb, cr);
    }
    // An odd last column: its block is the one pixel pair above each other.
    if top.len() % pair != 0 {
        let (a, b) = (
            &top[top.len() - channels..],
            &bottom[bottom.len() - channels..],
        );
        let sum = |i: usize| 2 * (i32::from(a[i]) + i32::from(b[i]));
        if let (Some(cb), Some(cr)) = (cb.last_mut(), cr.last_mut()) {
            put_chroma(sum(0), sum(1), sum(2), cb, cr);
        }
    }
}

/// `r`, `g`, `b` are sums of four pixels, hence the shift by 18.
#[inline(always)]
fn put_chroma(r: i32, g: i32, b: i32, cb: &mut u8, cr: &mut u8) {
    *cb = ((CB_R * r + CB_G * g + CB_B * b + (128 << 18) + (1 << 17)) >> 18) as u8;
    *cr = ((CR_R * r + CR_G * g + CR_B * b + (128 << 18) + (1 << 17)) >> 18) as u8;
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
            convert_portable(rgb, channels, size, &mut portable);
            let mut dispatched = vec![0; size.yuv420_len()];
            convert(rgb, channels, size, &mut dispatched);
            assert_eq!(portable, dispatched, "{channels} channels");
        }
    }

    #[test]
    fn a_png_of_another_size_is_refused() {
        let mut png_bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png_bytes, 2, 2);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[0; 12]).unwrap();
        }
        let mut out = Vec::new();
        let size = Size {
            width: 2,
            height: 2,
        };
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
