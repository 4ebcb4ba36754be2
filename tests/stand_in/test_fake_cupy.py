"""The stand-in itself: device arrays refuse host arrays, reads back count as syncs, indices wrap as on CuPy."""


def test_the_stand_in_refuses_host_arrays_and_counts_syncs_and_launches(stand_in):
    result = stand_in("""
import json
import cupy
device = cupy.asarray(np.arange(6.0).reshape(2, 3))
refused = []
for attempt in (lambda: device + np.ones(3), lambda: np.ones(3) * device, lambda: np.asarray(device),
                lambda: cupy.matmul(device, np.ones((3, 2))), lambda: device[np.array([0])]):
    try:
        attempt()
    except TypeError as error:
        refused.append(type(error).__name__)
cupy.counter.reset()
total = (device * 2).sum()
launches, syncs_before = cupy.counter.launches, cupy.counter.syncs
value = float(total)
syncs_after = cupy.counter.syncs
wrapped = device[cupy.asarray([2, -3])].get().tolist()  # rows 2 and -3 wrap to 0 and 1, as on CuPy
print(json.dumps(dict(refused=refused, launches=launches, syncs=[syncs_before, syncs_after], value=value,
                      wrapped=wrapped, host=type(cupy.asnumpy(total)).__name__)))
""")
    assert len(result["refused"]) == 5
    assert result["launches"] == 2 and result["syncs"] == [0, 1] and result["value"] == 30.0
    assert result["wrapped"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and result["host"] == "ndarray"
