# The web chat page (src/server/webui/) in headless Chromium with Selenium, against a
# real `lmc serve` with the default chat model (skips without browser or model).
lmc_add_test(webchat_browser ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/webchat/test_webchat.py TIMEOUT 180)
set_tests_properties(webchat_browser PROPERTIES SKIP_RETURN_CODE 77)
