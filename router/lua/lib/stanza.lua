-- lib/stanza.lua - editing a message xmppd serialised itself, for the
-- scripts that add to one. A script takes it with
-- "-- include: lib/stanza.lua".

-- xml (a message as xmppd writes it: it ends "</message>" or "/>") with
-- child added as its last child; anything else is returned as it is.
local function stanza_append(xml, child)
  if string.sub(xml, -10) == '</message>' then
    return string.sub(xml, 1, -11) .. child .. '</message>'
  elseif string.sub(xml, -2) == '/>' then
    return string.sub(xml, 1, -3) .. '>' .. child .. '</message>'
  end
  return xml
end

local stanza_esc = { ['&'] = '&amp;', ['<'] = '&lt;', ['>'] = '&gt;',
  ["'"] = '&apos;', ['"'] = '&quot;' }

-- s escaped for an XML attribute value.
local function stanza_attr(s)
  return (string.gsub(s, '[&<>\'"]', stanza_esc))
end
