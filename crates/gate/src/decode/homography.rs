//! A projective map from the unit square to a quadrilateral: where a code's modules are in a
//! frame, given its corners. Used to read a grid's modules from grey pixels (`regrid.rs`) and to
//! draw the test corpus.

/// The 3x3 matrix (row-major) of a projective map.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Homography([f32; 9]);

impl Homography {
    /// Maps (0,0), (1,0), (1,1), (0,1) to `q[0..4]` (Heckbert's square-to-quad); `None` when
    /// the quadrilateral is degenerate (three corners on a line) or not finite.
    pub(crate) fn square_to_quad(q: [(f32, f32); 4]) -> Option<Homography> {
        let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = q;
        let (dx1, dx2, dx3) = (x1 - x2, x3 - x2, x0 - x1 + x2 - x3);
        let (dy1, dy2, dy3) = (y1 - y2, y3 - y2, y0 - y1 + y2 - y3);
        let den = dx1 * dy2 - dx2 * dy1;
        if !den.is_finite() || den.abs() < 1e-6 {
            return None;
        }
        let g = (dx3 * dy2 - dx2 * dy3) / den;
        let h = (dx1 * dy3 - dx3 * dy1) / den;
        let map = Homography([
            x1 - x0 + g * x1,
            x3 - x0 + h * x3,
            x0,
            y1 - y0 + g * y1,
            y3 - y0 + h * y3,
            y0,
            g,
            h,
            1.0,
        ]);
        map.0.iter().all(|v| v.is_finite()).then_some(map)
    }

    /// The map back (the adjugate: a projective map is defined up to scale).
    #[cfg_attr(not(feature = "corpus"), allow(dead_code))]
    pub(crate) fn inverse(&self) -> Homography {
        let [a, b, c, d, e, f, g, h, i] = self.0;
        Homography([
            e * i - f * h,
            c * h - b * i,
            b * f - c * e,
            f * g - d * i,
            a * i - c * g,
            c * d - a * f,
            d * h - e * g,
            b * g - a * h,
            a * e - b * d,
        ])
    }

    pub(crate) fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let [a, b, c, d, e, f, g, h, i] = self.0;
        let w = g * x + h * y + i;
        ((a * x + b * y + c) / w, (d * x + e * y + f) / w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_square_onto_the_quadrilateral_and_back() {
        let quad = [(100.0, 50.0), (300.0, 80.0), (280.0, 260.0), (90.0, 240.0)];
        let map = Homography::square_to_quad(quad).unwrap();
        let back = map.inverse();
        for ((u, v), (x, y)) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .into_iter()
            .zip(quad)
        {
            let (px, py) = map.apply(u, v);
            assert!(
                (px - x).abs() < 1e-3 && (py - y).abs() < 1e-3,
                "{u},{v} -> {px},{py}"
            );
            let (bu, bv) = back.apply(x, y);
            assert!(
                (bu - u).abs() < 1e-5 && (bv - v).abs() < 1e-5,
                "{x},{y} -> {bu},{bv}"
            );
        }
        assert!(
            Homography::square_to_quad([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]).is_none()
        );
        assert!(
            Homography::square_to_quad([(f32::NAN, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])
                .is_none()
        );
    }
}
