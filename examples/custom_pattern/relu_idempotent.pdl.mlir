// A PDL pattern in text IR, applied with xDSL's `apply-pdl`: relu(relu(x)) -> relu(x).
//
//   ge-opt model.mlir -p 'apply-pdl{pdl_file="examples/custom_pattern/relu_idempotent.pdl.mlir"}'
//
// Limits (xDSL 0.74's PDL interpreter): it matches ops by name, operands and result
// types, and builds new ops from a name, operands, result types and *attributes*; our ops
// keep their parameters as *properties*, which PDL can neither read nor set. So a PDL
// pattern can only be sound when no property decides the rewrite (as here: relu has
// none); for anything else (hard_sigmoid's alpha, a conv's pads) write a RewritePattern.
pdl.pattern @relu_relu : benefit(1) {
  %type = pdl.type
  %x = pdl.operand
  %inner = pdl.operation "ge.relu"(%x : !pdl.value) -> (%type : !pdl.type)
  %inner_result = pdl.result 0 of %inner
  %outer = pdl.operation "ge.relu"(%inner_result : !pdl.value) -> (%type : !pdl.type)
  pdl.rewrite %outer {
    pdl.replace %outer with (%inner_result : !pdl.value)
  }
}
