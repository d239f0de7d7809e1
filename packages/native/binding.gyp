{
  "targets": [
    {
      "target_name": "diodesync_native",
      "sources": ["src/addon.cc", "src/times.cc", "src/udp.cc", "src/capture.cc", "src/writeback.cc", "src/parity.cc", "src/crc32.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
