import BerthRuntime
print("berth-runtime")
