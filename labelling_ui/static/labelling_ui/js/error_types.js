// The error-type list of the segments and severity pages.

// One entry: number (its key on the segments page), name and code.
export function errorTypeItem(type, i) {
  const li = document.createElement("li");
  const code = document.createElement("div");
  code.className = "code";
  code.textContent = `${i + 1}. ${type.description || type.generic_name || type.code}`;
  const desc = document.createElement("div");
  desc.className = "desc";
  desc.textContent = type.code;
  li.append(code, desc);
  return li;
}
