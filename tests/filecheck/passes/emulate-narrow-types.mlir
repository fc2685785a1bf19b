// RUN: ge-opt %s --split-input-file -p emulate-narrow-types | filecheck %s
// RUN: ge-opt %s --split-input-file -p 'emulate-narrow-types{strict=true}' | filecheck %s --check-prefix=STRICT

// A bf16 chain computes in f32 and rounds where it leaves the chain; strict rounds each op.
// CHECK-LABEL: func.func @bf16_chain
// CHECK-SAME:    (%[[X:.+]]: tensor<4xbf16>) -> tensor<4xbf16>
// CHECK:         %[[W:.+]] = ge.cast %[[X]] {to = f32} : (tensor<4xbf16>) -> tensor<4xf32>
// CHECK-NEXT:    %[[E:.+]] = ge.exp %[[W]] : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[S:.+]] = ge.add %[[E]], %[[W]] : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[R:.+]] = ge.cast %[[S]] {to = bf16} : (tensor<4xf32>) -> tensor<4xbf16>
// CHECK-NEXT:    func.return %[[R]]
// STRICT-LABEL: func.func @bf16_chain
// STRICT:         ge.exp %{{.+}} : (tensor<4xf32>) -> tensor<4xf32>
// STRICT-NEXT:    %[[E:.+]] = ge.cast %{{.+}} {to = bf16} : (tensor<4xf32>) -> tensor<4xbf16>
// STRICT-NEXT:    %[[EW:.+]] = ge.cast %[[E]] {to = f32} : (tensor<4xbf16>) -> tensor<4xf32>
// STRICT-NEXT:    ge.add %[[EW]], %{{.+}} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
func.func @bf16_chain(%x: tensor<4xbf16>) -> tensor<4xbf16> {
  %e = ge.exp %x : (tensor<4xbf16>) -> tensor<4xbf16>
  %s = ge.add %e, %x : (tensor<4xbf16>, tensor<4xbf16>) -> tensor<4xbf16>
  func.return %s : tensor<4xbf16>
}

// -----

// 4-bit integers compute in i8 and wrap back after every op, in both modes.
// CHECK-LABEL: func.func @int4_weights
// CHECK:         %[[Q:.+]] = ge.constant dense<[1, -8, 7]> : tensor<3xi4>
// CHECK:         %[[QW:.+]] = ge.cast %[[Q]] {to = i8} : (tensor<3xi4>) -> tensor<3xi8>
// CHECK-NEXT:    %{{.+}} = ge.cast %zero {to = i8} : (tensor<3xi4>) -> tensor<3xi8>
// CHECK-NEXT:    %[[SUB:.+]] = ge.sub %[[QW]], %{{.+}} : (tensor<3xi8>, tensor<3xi8>) -> tensor<3xi8>
// CHECK-NEXT:    %[[N:.+]] = ge.cast %[[SUB]] {to = i4} : (tensor<3xi8>) -> tensor<3xi4>
// CHECK-NEXT:    %[[F:.+]] = ge.cast %[[N]] {to = f32} : (tensor<3xi4>) -> tensor<3xf32>
// CHECK-NEXT:    ge.mul %[[F]], %{{.+}} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// STRICT-LABEL: func.func @int4_weights
// STRICT:         ge.sub %{{.+}}, %{{.+}} : (tensor<3xi8>, tensor<3xi8>) -> tensor<3xi8>
// STRICT-NEXT:    ge.cast %{{.+}} {to = i4} : (tensor<3xi8>) -> tensor<3xi4>
func.func @int4_weights(%scale: tensor<3xf32>, %zero: tensor<3xi4>) -> tensor<3xf32> {
  %q = ge.constant dense<[1, -8, 7]> : tensor<3xi4>
  %d = ge.sub %q, %zero : (tensor<3xi4>, tensor<3xi4>) -> tensor<3xi4>
  %f = ge.cast %d {to = f32} : (tensor<3xi4>) -> tensor<3xf32>
  %y = ge.mul %f, %scale : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return %y : tensor<3xf32>
}

// -----

// Casts (saturating float8 ones too) and data movement of f32 are left as they are.
// CHECK-LABEL: func.func @float8_quantize
// CHECK-NEXT:    %[[Q:.+]] = ge.cast %x {to = f8E4M3FN, saturate = true} : (tensor<2x2xf32>) -> tensor<2x2xf8E4M3FN>
// CHECK-NEXT:    %[[W:.+]] = ge.cast %[[Q]] {to = f32} : (tensor<2x2xf8E4M3FN>) -> tensor<2x2xf32>
// CHECK-NEXT:    %[[T:.+]] = ge.transpose %[[W]] {perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK-NEXT:    %[[N:.+]] = ge.cast %[[T]] {to = f8E4M3FN} : (tensor<2x2xf32>) -> tensor<2x2xf8E4M3FN>
// CHECK-NEXT:    func.return %[[N]]
func.func @float8_quantize(%x: tensor<2x2xf32>) -> tensor<2x2xf8E4M3FN> {
  %q = ge.cast %x {to = f8E4M3FN, saturate = true} : (tensor<2x2xf32>) -> tensor<2x2xf8E4M3FN>
  %t = ge.transpose %q {perm = array<i64: 1, 0>} : (tensor<2x2xf8E4M3FN>) -> tensor<2x2xf8E4M3FN>
  func.return %t : tensor<2x2xf8E4M3FN>
}
