// RUN: not ge-opt %s -p no-such-pass 2>&1 | filecheck %s --check-prefix=PASS
// RUN: not ge-opt %s -p 'cse{bogus=1}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not ge-opt %s.missing 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not ge-opt %s -p no-such-pass 2>&1 >/dev/null | wc -l | filecheck %s --check-prefix=LINES

// Bad command lines on a valid module: one readable line each and exit status 1.
// PASS: ge-opt: error: Unrecognized passes: ['no-such-pass']
// OPTION: ge-opt: error: pass 'cse': Provided arguments ["bogus"] not found in expected arguments []
// MISSING: ge-opt: error: '{{.*}}errors-options.mlir.missing': No such file or directory
// LINES: {{^ *1$}}

func.func @valid(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.relu %x : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
