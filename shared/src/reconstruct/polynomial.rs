//! Polynomials over a scalar field: evaluation, Lagrange interpolation and
//! Berlekamp–Welch Reed–Solomon decoding.
//!
//! A key split `t`-of-`n` is the constant term of a polynomial of degree `t−1`; each
//! share is one evaluation `(x, y)`. Berlekamp–Welch finds that polynomial from `m`
//! evaluations of which up to `e = ⌊(m−t)/2⌋` are wrong, by solving one linear system
//! of `m` equations in `t + 2e` unknowns: `Q(xᵢ) = yᵢ·E(xᵢ)` with `E` monic of degree
//! `e` (its roots are the wrong indexes) and `deg Q < t + e`; then `P = Q / E`.
//! Every intermediate that depends on share values is wiped before returning.

use ff::Field;
use zeroize::Zeroize;

/// `p(x)` for coefficients in increasing degree.
pub(crate) fn evaluate<F: Field>(poly: &[F], x: &F) -> F {
    poly.iter().rev().fold(F::ZERO, |acc, c| acc * x + c)
}

/// The polynomial of degree `< xs.len()` through the points, or `None` if two `x`
/// coincide.
pub(crate) fn interpolate<F: Field + Zeroize>(xs: &[F], ys: &[F]) -> Option<Vec<F>> {
    let k = xs.len();
    // N(x) = Π (x − x_m)
    let mut all = vec![F::ZERO; k + 1];
    all[0] = F::ONE;
    for (degree, x) in xs.iter().enumerate() {
        for i in (0..=degree + 1).rev() {
            let shifted = if i > 0 { all[i - 1] } else { F::ZERO };
            all[i] = shifted - all[i] * x;
        }
    }
    let mut result = vec![F::ZERO; k];
    for j in 0..k {
        // N_j(x) = N(x) / (x − x_j), by synthetic division.
        let mut basis = vec![F::ZERO; k];
        let mut carry = F::ZERO;
        for i in (0..k).rev() {
            carry = all[i + 1] + carry * xs[j];
            basis[i] = carry;
        }
        let denominator = evaluate(&basis, &xs[j]);
        let scale = Option::<F>::from(denominator.invert())? * ys[j];
        for (r, b) in result.iter_mut().zip(&basis) {
            *r += *b * scale;
        }
    }
    Some(result)
}

/// Decodes the polynomial of degree `< k` that agrees with all but at most
/// `⌊(m−k)/2⌋` of the `m` points, or `None` if there is none.
pub(super) fn berlekamp_welch<F: Field + Zeroize>(xs: &[F], ys: &[F], k: usize) -> Option<Vec<F>> {
    let m = xs.len();
    if k == 0 || m < k {
        return None;
    }
    let e = (m - k) / 2;
    let q_len = k + e;
    let unknowns = q_len + e;
    // Row i: Σ q_j x^j − y Σ_{j<e} a_j x^j = y x^e.
    let mut matrix: Vec<Vec<F>> = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| {
            let mut row = Vec::with_capacity(unknowns + 1);
            let mut power = F::ONE;
            let mut powers = Vec::with_capacity(q_len);
            for _ in 0..q_len {
                powers.push(power);
                power *= x;
            }
            row.extend_from_slice(&powers);
            row.extend(powers[..e].iter().map(|p| -(*y * p)));
            row.push(*y * powers.get(e).copied().unwrap_or(power));
            row
        })
        .collect();
    let solution = solve(&mut matrix, unknowns);
    for row in &mut matrix {
        row.zeroize();
    }
    let mut solution = solution?;
    let mut error_locator: Vec<F> = solution[q_len..].to_vec();
    error_locator.push(F::ONE);
    solution.truncate(q_len);
    let quotient = divide_exact(&mut solution, &error_locator);
    solution.zeroize();
    error_locator.zeroize();
    let mut poly = quotient?;
    let disagreements = xs
        .iter()
        .zip(ys)
        .filter(|(x, y)| evaluate(&poly, x) != **y)
        .count();
    if poly.len() > k || disagreements > e {
        poly.zeroize();
        return None;
    }
    Some(poly)
}

/// Solves the augmented system in place by Gauss–Jordan elimination, setting free
/// unknowns to zero; `None` if it is inconsistent.
fn solve<F: Field>(matrix: &mut [Vec<F>], unknowns: usize) -> Option<Vec<F>> {
    let rows = matrix.len();
    let mut pivot_row = 0;
    let mut pivots = Vec::with_capacity(unknowns);
    for column in 0..unknowns {
        let Some(found) = (pivot_row..rows).find(|&r| !bool::from(matrix[r][column].is_zero()))
        else {
            continue;
        };
        matrix.swap(pivot_row, found);
        let inverse = Option::<F>::from(matrix[pivot_row][column].invert())?;
        for value in matrix[pivot_row].iter_mut() {
            *value *= inverse;
        }
        let pivot = matrix[pivot_row].clone();
        for (r, row) in matrix.iter_mut().enumerate() {
            if r != pivot_row && !bool::from(row[column].is_zero()) {
                let factor = row[column];
                for (value, p) in row.iter_mut().zip(&pivot) {
                    *value -= factor * p;
                }
            }
        }
        pivots.push(column);
        pivot_row += 1;
        if pivot_row == rows {
            break;
        }
    }
    // Rows without a pivot must read 0 = 0.
    if matrix[pivot_row..]
        .iter()
        .any(|row| !bool::from(row[unknowns].is_zero()))
    {
        return None;
    }
    let mut solution = vec![F::ZERO; unknowns];
    for (row, &column) in pivots.iter().enumerate() {
        solution[column] = matrix[row][unknowns];
    }
    Some(solution)
}

/// `numerator / divisor` for a monic divisor, or `None` if the remainder is not zero.
/// `numerator` is consumed as scratch space.
fn divide_exact<F: Field>(numerator: &mut [F], divisor: &[F]) -> Option<Vec<F>> {
    let d = divisor.len() - 1;
    if numerator.len() <= d {
        return numerator
            .iter()
            .all(|c| bool::from(c.is_zero()))
            .then(Vec::new);
    }
    let mut quotient = vec![F::ZERO; numerator.len() - d];
    for i in (0..quotient.len()).rev() {
        let coefficient = numerator[i + d];
        quotient[i] = coefficient;
        for (j, dc) in divisor.iter().enumerate() {
            numerator[i + j] -= coefficient * dc;
        }
    }
    numerator[..d]
        .iter()
        .all(|c| bool::from(c.is_zero()))
        .then_some(quotient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::Scalar;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn random_poly(rng: &mut rand::rngs::StdRng, k: usize) -> Vec<Scalar> {
        (0..k).map(|_| Scalar::random(&mut *rng)).collect()
    }

    #[test]
    fn interpolation_recovers_the_polynomial() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let poly = random_poly(&mut rng, 4);
        let xs: Vec<Scalar> = (1..=4u64).map(Scalar::from).collect();
        let ys: Vec<Scalar> = xs.iter().map(|x| evaluate(&poly, x)).collect();
        assert_eq!(interpolate(&xs, &ys).unwrap(), poly);
    }

    proptest! {
        #[test]
        fn berlekamp_welch_corrects_up_to_half_the_redundancy(
            seed in any::<u64>(), k in 1usize..8, extra in 0usize..10, corrupt_fraction in 0.0f64..=1.0,
        ) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let poly = random_poly(&mut rng, k);
            let m = k + extra;
            let xs: Vec<Scalar> = (0..m).map(|_| Scalar::random(&mut rng)).collect();
            let mut ys: Vec<Scalar> = xs.iter().map(|x| evaluate(&poly, x)).collect();
            let e = ((m - k) / 2) as f64;
            let wrong = (e * corrupt_fraction).floor() as usize;
            for y in ys.iter_mut().take(wrong) {
                *y += Scalar::ONE;
            }
            let decoded = berlekamp_welch(&xs, &ys, k).unwrap();
            let mut expected = poly.clone();
            expected.resize(decoded.len().max(k), Scalar::ZERO);
            let mut got = decoded;
            got.resize(expected.len(), Scalar::ZERO);
            prop_assert_eq!(got, expected);
        }
    }
}
