/**
 * The notation page (site-src/pages/notation.md) gives every symbol one meaning, and the pages
 * follow it. Each second meaning the glossary once listed was renamed; this test holds the
 * renaming: none of the old spellings below comes back into docs/*.md or site-src/pages/*.md
 * (TypeScript blocks and inline code aside, where the code's own names are quoted). And every
 * symbol the glossary defines is one the scan of the pages was made for: a new glossary row
 * needs a look at the pages, then a line here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The pages the glossary speaks for, with ts/js code blocks and inline code blanked out. */
function pages(): { file: string; lines: string[] }[] {
  const files = [
    ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
    ...readdirSync(join(ROOT, "site-src/pages")).filter((f) => f.endsWith(".md")).map((f) => `site-src/pages/${f}`),
  ];
  return files.map((file) => {
    let code = false, prose = true;
    const lines = readFileSync(join(ROOT, file), "utf8").split("\n").map((line) => {
      const fence = /^\s*```(\w*)/.exec(line);
      if (fence) {
        code = !code;
        prose = !code || fence[1] === "text" || fence[1] === "";
        return "";
      }
      return prose ? line.replace(/`[^`]*`/g, "``") : "";
    });
    return { file, lines };
  });
}

/** An old spelling, the page (or all pages) where it may not appear, and what replaced it. */
const RETIRED: [RegExp, string][] = [
  [/p_[st](?![a-z])/, "p_s and p_t are q and p: one spelling for the student's and the teacher's distributions"],
  [/δ(KL|D|ℓ|Δ|w|N|log|ρ)/, "an error is err(·), δ is s − t only"],
  [/R[₁₂]/, "the precision factors are Ψ₁ and Ψ₂ (R is the logit-matching size)"],
  [/[ℓsteû]_J\b/, "the reference class is ‘top’ (J is a Jacobian)"],
  [/\bA(_O|_rest)?\((p|q|o|w|r|q̂|p̂|softmax)/, "softmax's Jacobian is J(·) (A is a gap)"],
  [/\bJ\(w\)|\bE_w\b/, "a distribution in general is o, softmax's output (w is a class weight)"],
  [/ε_[tΔ]|ε = e\^/, "e^{R/T} − 1 is written out (ε is the unit roundoff)"],
  [/\bu(_d)? = 2⁻/, "the unit roundoff is ε (ε₃₂, ε_d), u is t − s"],
  [/ε = 2⁻⁵²/, "ε is 2⁻⁵³ on every page"],
  [/P̄/, "DKD's complements are 1 − q_y and 1 − p_y (a bar is a mean)"],
  [/\bP_[st]\b/, "DKD's target probabilities are q_y and p_y"],
  [/t_ε|\ba_c\b|\ba_ic\b|scale\*\* sᵢ|sᵢ = gᵢ|the scale s\b/, "a loss's target is Y (Y_θ, Y_w) and its upstream gᵢ"],
  [/x_rest|x̂ = |x_o\b/, "sparse distillation's log-ratios are ℓ_j and ℓ_rest"],
  [/E₆₄|ν̄|ρ̄|\bLM = /, "ν₆₄, ν_max, ρ_max, L∞"],
  [/χ²/, "χ is u − E_p[u]; the chi-squared divergence is written Σ q(r − 1)²"],
  [/\bη = 2⁻¹⁰⁷⁴|`etaMin` η/, "η is the low-temperature remainder only"],
  [/T\^κ|κ = Q_rest/, "κ is κ(X) only"],
  [/\bw = u − |\bw = softmax\(t\)_y|\bw = 1 − exp|\bw′/, "w is a class weight only (χ, ψ, μ′)"],
  [/\bD = (Y|maxᵢ)|\bD the (range|uᵢ)|`D` and `c` in the code\): D/, "D is a divergence only"],
  [/f\(x, y, z\)|w = x \+ y/, "the backprop example is L = (a + b)·c with o = a + b"],
  [/pow\(x, e\)\` \| xᵉ|∂L\/∂e\b/, "pow's inputs are a and b, as every binary op's"],
  [/\[n×m\]|n·k·m/, "matmul's sizes are n₁, n₂, n₃ (m is a maximum)"],
  [/\by = x_π|yⱼ = x|\bYᵢⱼ\b/, "an op's output is o"],
];

test("no retired spelling of a symbol comes back into the docs or the site's pages", () => {
  const found: string[] = [];
  for (const { file, lines } of pages()) {
    lines.forEach((line, i) => {
      for (const [pattern, why] of RETIRED) {
        const m = pattern.exec(line);
        if (m) found.push(`${file}:${i + 1}: "${m[0]}" — ${why}`);
      }
    });
  }
  expect(found).toEqual([]);
});

test("the glossary has no table of second meanings left, and defines the renamed symbols", () => {
  const glossary = readFileSync(join(ROOT, "site-src/pages/notation.md"), "utf8");
  expect(glossary).not.toMatch(/second meaning/i);
  for (const symbol of ["\\xi", "\\Psi_1", "\\operatorname{err}", "\\chi", "\\psi", "\\breve u", "{\\mathrm{top}}", "$Y$", "$\\theta$", "$g_i$", "$J(p)$", "\\varphi", "\\kappa(X)", "$D$", "\\eta_s"]) {
    expect(glossary, symbol).toContain(symbol);
  }
});
