// Parse a NumPy .npy file (format 1.0, 2.0 or 3.0) holding little-endian float32.
// FormLab pose arrays are float32 (frames, joints, dims), C order; NaN marks a dropped joint.
// Returns {shape, data: Float32Array}. Throws on anything else: never guesses a layout.

export function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  for (let i = 0; i < magic.length; i++) {
    if (bytes[i] !== magic[i]) throw new Error("Not a .npy file");
  }
  const major = bytes[6];
  const view = new DataView(buffer);
  let headerLen, headerStart;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new Error(`Unsupported .npy version ${major}`);
  }
  const header = new TextDecoder("latin1").decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeMatch) throw new Error("Malformed .npy header");
  if (descr[1] !== "<f4") throw new Error(`Expected little-endian float32 ('<f4'), got '${descr[1]}'`);
  if (fortran[1] !== "False") throw new Error("Fortran-ordered arrays are not supported");
  const shape = shapeMatch[1].split(",").map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLen;
  if (offset + count * 4 > buffer.byteLength) throw new Error("Truncated .npy data");
  // numpy pads the header to a multiple of 64 bytes, so the data is aligned; copy if it is not.
  const data = offset % 4 === 0
    ? new Float32Array(buffer, offset, count)
    : new Float32Array(buffer.slice(offset, offset + count * 4));
  return { shape, data };
}
