import BerthOCI
import BerthSystem
